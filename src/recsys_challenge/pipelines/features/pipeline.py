"""Feature template per window; each window reads only the history it is allowed to see."""

from kedro.pipeline import Node, Pipeline

from recsys_challenge.core import WINDOWS

from .nodes import activity_features, merge_features, replay_history_features, target_features


def template() -> Pipeline:
    params = "params:features"
    return Pipeline(
        [
            Node(
                replay_history_features,
                ["history@spark", "users@spark", "items@spark", params],
                ["replay_user", "replay_item"],
                name="replay_history_features",
                tags=["spark"],
            ),
            Node(
                activity_features,
                ["history@pandas", "items@pandas", params],
                ["activity_user", "activity_item"],
                name="activity_features",
            ),
            Node(target_features, ["targets", "history@pandas"], "target_user", name="target_features"),
            Node(
                merge_features,
                ["replay_user", "replay_item", "activity_user", "activity_item", "target_user"],
                ["user_features", "item_features"],
                name="merge_features",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """The template once per window (namespace ``features_<window>``), over that window's history fold."""
    return sum(
        (
            Pipeline(
                template(),
                namespace=f"features_{name}",
                inputs={
                    "history@spark": f"{window.history}@spark",
                    "history@pandas": f"{window.history}@pandas",
                    "users@spark": "users@spark",
                    "items@spark": "items@spark",
                    "items@pandas": "items@pandas",
                    "targets": f"targets_{name}",
                },
                parameters={"params:features"},
                tags=["features"],
            )
            for name, window in WINDOWS.items()
        ),
        Pipeline([]),
    )
