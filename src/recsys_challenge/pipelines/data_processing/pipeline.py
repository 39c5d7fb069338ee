"""Wiring of the data_processing pipeline."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_primary, validate_raw_events, validate_raw_items, validate_raw_users


def create_pipeline(**kwargs) -> Pipeline:
    params = "params:data_processing"
    return Pipeline(
        [
            Node(validate_raw_events, ["events", params], "validated_events", name="validate_events"),
            Node(validate_raw_items, ["item_features", params], "validated_items", name="validate_items"),
            Node(validate_raw_users, ["user_features", params], "validated_users", name="validate_users"),
            Node(
                build_primary,
                ["validated_events", "validated_items", "validated_users", params],
                ["interactions@pandas", "items@pandas", "users@pandas"],
                name="build_primary",
            ),
        ],
        tags=["data_processing"],
    )
