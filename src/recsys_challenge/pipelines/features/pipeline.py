"""Feature template per window; each window reads only the history it is allowed to see."""

from kedro.pipeline import Node, Pipeline

from .nodes import activity_features, merge_features, replay_history_features

# window -> the history fold its features are computed from
WINDOWS = {"rerank": "fold_gen_train", "test": "fold_test_history", "final": "interactions"}


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
            Node(
                merge_features,
                ["replay_user", "replay_item", "activity_user", "activity_item"],
                ["user_features", "item_features"],
                name="merge_features",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    return sum(
        (
            Pipeline(
                template(),
                namespace=f"features_{window}",
                inputs={
                    "history@spark": f"{fold}@spark",
                    "history@pandas": f"{fold}@pandas",
                    "users@spark": "users@spark",
                    "items@spark": "items@spark",
                    "items@pandas": "items@pandas",
                },
                parameters={"params:features"},
                tags=["features"],
            )
            for window, fold in WINDOWS.items()
        ),
        Pipeline([]),
    )
