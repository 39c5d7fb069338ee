"""Sequential generators: namespaced template, candidates schema, MLflow curves, checkpoint resume."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset

from recsys_challenge.pipelines.sequential import MODELS, create_pipeline
from recsys_challenge.pipelines.sequential.models import (
    filter_long_sequences,
    item_vocabulary,
    training_sequences,
    training_windows,
)
from recsys_challenge.pipelines.sequential.nodes import (
    fit_generator,
    recommend,
    refit_or_reuse,
    refit_windows,
)
from tests.conftest import pandas_inputs, run_pipeline


def tiny(params: dict, model: str, **over) -> dict:
    return {**params[model], **over}


def test_namespaced_pipelines_share_folds_and_keep_params_apart():
    pipe = create_pipeline()
    namespaces = {n.namespace for n in pipe.nodes}
    assert namespaces == set(MODELS)
    shared = {"fold_gen_train", "fold_test_history", "fold_test_gt", "items", "interactions"}
    assert {f"{name}@pandas" for name in shared} <= pipe.inputs()
    for model in MODELS:
        assert f"params:{model}" in pipe.inputs()
        assert f"{model}.candidates_final" in pipe.all_outputs()
    fit_nodes = [n for n in pipe.nodes if n.name.endswith(".fit")]
    assert all("training" in n.tags for n in fit_nodes)


@pytest.mark.parametrize("model", ["sasrec", "bert4rec"])
def test_candidates_are_k_unseen_ranked_items(folds, params, model):
    cfg = tiny(params, model, epochs=1)
    fitted, history = fit_generator(
        folds["fold_gen_train"], folds["fold_rerank_gt"], folds["items"], folds["interactions"], cfg
    )
    assert len(history) == 1 and 0.0 <= history["ndcg@10"].iloc[0] <= 1.0
    candidates = recommend(fitted, folds["fold_test_history"], cfg)
    k = cfg["candidates_k"]
    per_user = candidates.groupby("user_id").size()
    assert (per_user == k).all()
    assert set(per_user.index) == set(folds["fold_test_history"]["user_id"])
    seen = candidates.merge(folds["fold_test_history"][["user_id", "item_id"]], on=["user_id", "item_id"])
    assert seen.empty
    assert candidates.groupby("user_id")["rank"].apply(lambda r: r.tolist() == list(range(1, k + 1))).all()
    assert candidates.groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing).all()


def test_training_is_deterministic_on_cpu(folds, params):
    cfg = tiny(params, "sasrec", epochs=1)
    args = (folds["fold_gen_train"], folds["fold_rerank_gt"], folds["items"], folds["interactions"], cfg)
    first, second = fit_generator(*args)[1], fit_generator(*args)[1]
    assert first["train_loss"].tolist() == second["train_loss"].tolist()
    assert first["ndcg@10"].tolist() == second["ndcg@10"].tolist()


def test_resume_from_checkpoint_continues_training(folds, params, tmp_path):
    args = (folds["fold_gen_train"], folds["fold_rerank_gt"], folds["items"], folds["interactions"])
    cfg = tiny(params, "sasrec", epochs=1, checkpoint_dir=str(tmp_path))
    fit_generator(*args, cfg)
    assert (tmp_path / "last.ckpt").exists() and (tmp_path / "best.ckpt").exists()
    resumed = tiny(
        params,
        "sasrec",
        epochs=2,
        checkpoint_dir=str(tmp_path / "resumed"),
        resume_from=str(tmp_path / "last.ckpt"),
    )
    _, history = fit_generator(*args, resumed)
    # only the second epoch trains; the first epoch's validation metrics come back from the checkpoint
    trained = history.dropna(subset=["epoch_seconds"])
    assert trained["epoch"].tolist() == [1]
    assert history["epoch"].tolist() == [0, 1]


def test_pipeline_logs_metric_histories_to_mlflow(folds, params, tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    pipe = create_pipeline(models=("sasrec",))
    inputs = {**pandas_inputs(pipe, folds), "params:sasrec": tiny(params, "sasrec", epochs=2, patience=5)}
    with mlflow.start_run() as run:
        catalog = DataCatalog({name: MemoryDataset(copy_mode="assign") for name in pipe.datasets()})
        catalog["sasrec.mlflow_metrics"] = MlflowMetricsHistoryDataset(prefix="sasrec")
        for name in pipe.inputs():
            catalog[name] = inputs[name]
        SequentialRunner().run(pipe, catalog)
    client = mlflow.tracking.MlflowClient()
    curve = client.get_metric_history(run.info.run_id, "sasrec.val.ndcg_10")
    assert [m.step for m in curve] == [0, 1]
    assert all(0.0 <= m.value <= 1.0 for m in curve)
    test_ndcg = client.get_metric_history(run.info.run_id, "sasrec.test.ndcg_10")
    assert len(test_ndcg) == 1 and 0.0 < test_ndcg[0].value < 1.0
    mlflow.set_tracking_uri("")


def test_refit_trains_on_the_longer_history(folds, params):
    pipe = create_pipeline(models=("sasrec",)).only_nodes("sasrec.fit", "sasrec.refit_test")
    cfg = tiny(params, "sasrec", epochs=1, refit=True)
    out = run_pipeline(pipe, {**pandas_inputs(pipe, folds), "params:sasrec": cfg})
    assert out["sasrec.model_test"] is not out["sasrec.model_gen"]
    reuse = run_pipeline(pipe, {**pandas_inputs(pipe, folds), "params:sasrec": {**cfg, "refit": False}})
    assert reuse["sasrec.model_test"] is reuse["sasrec.model_gen"]
    assert isinstance(out["sasrec.train_history"], pd.DataFrame)


def test_refit_listed_windows_only_and_later_windows_reuse_the_latest_model(folds, params):
    pipe = create_pipeline(models=("sasrec",)).only_nodes(
        "sasrec.fit", "sasrec.refit_test", "sasrec.refit_final"
    )
    cfg = tiny(params, "sasrec", epochs=1, refit=["test"])
    out = run_pipeline(pipe, {**pandas_inputs(pipe, folds), "params:sasrec": cfg})
    assert out["sasrec.model_test"] is not out["sasrec.model_gen"]
    assert out["sasrec.model_final"] is out["sasrec.model_test"]


def test_refit_rejects_an_unknown_window(params):
    cfg = tiny(params, "sasrec", refit=["tset"])
    with pytest.raises(ValueError, match=r"sasrec\.refit: unknown window\(s\) \['tset'\]"):
        refit_windows(cfg)
    assert refit_windows({**cfg, "refit": True}) == {"test", "final"}
    assert refit_windows({**cfg, "refit": False}) == set()
    assert refit_windows({**cfg, "refit": "test, final"}) == {"test", "final"}


def same_weights(a, b) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(first[k].equal(second[k]) for k in first)


@pytest.mark.parametrize("model", ["sasrec", "bert4rec"])
def test_ensemble_averages_the_probabilities_of_differently_seeded_members(folds, params, model, tmp_path):
    args = (folds["fold_gen_train"], folds["fold_rerank_gt"], folds["items"], folds["interactions"])
    single, _ = fit_generator(*args, tiny(params, model, epochs=1))
    cfg = tiny(params, model, epochs=1, ensemble=3, checkpoint_dir=str(tmp_path))
    fitted, _ = fit_generator(*args, cfg)
    assert len(fitted.members) == 2 and fitted.member_epochs == [0, 0]
    # every member is early-stopped on its own, with its own checkpoints
    seed = cfg["seed"]
    assert all((tmp_path / f"seed_{seed + i}" / "best.ckpt").exists() for i in (1, 2))
    assert same_weights(fitted.module, single.module)  # the first member is the single model
    assert not any(same_weights(fitted.module, m) for m in fitted.members)  # seeds seed+1, seed+2
    history = folds["fold_test_history"]
    candidates = recommend(fitted, history, cfg)
    k = cfg["candidates_k"]
    assert (candidates.groupby("user_id").size() == k).all()
    assert candidates.merge(history[["user_id", "item_id"]], on=["user_id", "item_id"]).empty
    # mean probabilities: in (0, 1], at most 1 per user, decreasing with rank
    assert candidates["score"].between(0, 1, inclusive="right").all()
    assert (candidates.groupby("user_id")["score"].sum() <= 1 + 1e-5).all()
    assert candidates.groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing).all()
    refitted = refit_or_reuse(fitted, history, {**cfg, "refit": True}, "test")
    assert len(refitted.members) == 2 and refitted.members[0] is not fitted.members[0]
    assert refitted.member_epochs == fitted.member_epochs
    with pytest.raises(ValueError, match=rf"{model}\.ensemble must be >= 1, got 0"):
        refit_or_reuse(fitted, history, {**cfg, "refit": True, "ensemble": 0}, "test")


def test_vocabulary_covers_catalog_and_events(folds):
    vocab = item_vocabulary(folds["items"], folds["interactions"])
    assert set(folds["interactions"]["item_id"]) <= set(vocab)
    assert list(vocab) == sorted(vocab)


def test_long_sequence_filter_keeps_the_last_events_and_flags_a_no_op(caplog):
    fold = pd.DataFrame({"user_id": [1] * 5 + [2] * 2, "item_id": range(7), "order": [0, 1, 2, 3, 4, 0, 1]})
    kept = filter_long_sequences(fold, 3, max_seq_len=10)
    assert kept.groupby("user_id")["item_id"].agg(list).to_dict() == {1: [2, 3, 4], 2: [5, 6]}
    assert "no effect" not in caplog.text
    filter_long_sequences(fold, 10, max_seq_len=10)
    assert "max_train_events=10 >= max_seq_len=10 has no effect" in caplog.text


def test_label_smoothing_reaches_the_full_ce_loss_and_padding_stays_ignored(params):
    from recsys_challenge.pipelines.sequential.models import _backend

    for smoothing in (0.0, 0.1):
        module = _backend(tiny(params, "sasrec", label_smoothing=smoothing), 50).build()
        loss = module.model.loss._loss
        assert loss.label_smoothing == smoothing and loss.ignore_index == 50
        assert module.model.loss.logits_callback == module.model.get_logits


def test_training_windows_cover_long_histories_once_per_stride():
    seqs = pd.Series([list(range(10)), [1, 2, 3]], index=[5, 6])
    assert training_windows(seqs, 4, None).to_dict() == {5: [6, 7, 8, 9], 6: [1, 2, 3]}
    # windows end 4 events apart, the oldest starts the history, a short one is kept whole
    assert training_windows(seqs, 4, 4).tolist() == [[6, 7, 8, 9], [2, 3, 4, 5], [0, 1, 2, 3], [1, 2, 3]]
    assert training_windows(seqs, 4, 3).tolist() == [[6, 7, 8, 9], [3, 4, 5, 6], [0, 1, 2, 3], [1, 2, 3]]
    with pytest.raises(ValueError, match="train_stride must be >= 1 or null, got 0"):
        training_windows(seqs, 4, 0)


@pytest.mark.parametrize("model", ["sasrec", "bert4rec"])
def test_training_windows_add_rows_and_still_yield_unseen_candidates(folds, params, model):
    cfg = tiny(params, model, epochs=1, max_seq_len=8, train_stride=4)
    vocab = item_vocabulary(folds["items"], folds["interactions"])
    seqs = training_sequences(folds["fold_gen_train"], vocab, cfg)
    assert len(training_windows(seqs, 9, 4)) > len(seqs)  # the sample has histories over 9 events
    args = (folds["fold_gen_train"], folds["fold_rerank_gt"], folds["items"], folds["interactions"])
    plain, _ = fit_generator(*args, {**cfg, "train_stride": None})
    fitted, history = fit_generator(*args, cfg)
    assert not same_weights(fitted.module, plain.module)  # the extra windows were trained on
    assert 0.0 <= history["ndcg@10"].iloc[0] <= 1.0
    history = folds["fold_test_history"]
    candidates = recommend(fitted, history, cfg)
    assert (candidates.groupby("user_id").size() == cfg["candidates_k"]).all()
    assert candidates.merge(history[["user_id", "item_id"]], on=["user_id", "item_id"]).empty
