"""Sequential generators: namespaced template, candidate schema, validation = inference, refits, MLflow."""

from __future__ import annotations

import mlflow
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset

from recsys_challenge.core import WINDOWS
from recsys_challenge.evaluation import ranking_metrics
from recsys_challenge.pipelines.sequential import MODELS, create_pipeline
from recsys_challenge.pipelines.sequential.backends import backend_for
from recsys_challenge.pipelines.sequential.nodes import (
    fit_generator,
    is_cloze,
    recommend,
    refit_or_reuse,
    refit_windows,
)
from recsys_challenge.pipelines.sequential.training import member_seeds
from tests.conftest import pandas_inputs, run_pipeline


def tiny(params: dict, model: str, **over) -> dict:
    return {**params[model], **over}


def fit_args(folds: dict) -> tuple:
    return folds["fold_gen_train"], folds["fold_rerank_gt"], folds["items"], folds["interactions"]


def same_weights(a, b) -> bool:
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(first[k].equal(second[k]) for k in first)


def assert_validation_matches_inference(fitted, history, folds, cfg) -> None:
    """The best epoch's validation NDCG@10 is what the model's own candidates score on the reranker
    window: validation reads the same histories and removes the same seen items as inference."""
    best = history.set_index("epoch").loc[fitted.epochs - 1, "ndcg@10"]
    candidates = recommend(
        fitted, folds["fold_gen_train"], folds["targets_rerank"], {**cfg, "candidates_k": 10}
    )
    truth = folds["fold_rerank_gt"]
    assert best == pytest.approx(ranking_metrics(candidates, truth, [10])["ndcg_10"], abs=1e-5)


def test_namespaced_pipelines_share_folds_and_keep_params_apart():
    pipe = create_pipeline()
    assert {n.namespace for n in pipe.nodes} == set(MODELS)
    shared = {
        "fold_gen_train",
        "fold_rerank_gt",
        "fold_test_history",
        "fold_test_gt",
        "items",
        "interactions",
    }
    targets = {f"targets_{window}" for window in WINDOWS}
    assert pipe.inputs() == {f"{name}@pandas" for name in shared} | targets | {f"params:{m}" for m in MODELS}
    for model in MODELS:
        assert f"{model}.candidates_final" in pipe.all_outputs()
    # each window scores the history it may see, and refits train on it
    nodes = {n.name: n for n in pipe.nodes}
    for window, fold in WINDOWS.items():
        assert nodes[f"sasrec.candidates_{window}"].inputs[1] == f"{fold.history}@pandas"
    assert nodes["sasrec.refit_test"].inputs[1] == "fold_test_history@pandas"
    assert nodes["sasrec.fit"].inputs[:2] == ["fold_gen_train@pandas", "fold_rerank_gt@pandas"]


@pytest.mark.parametrize("model", ["sasrec", "bert4rec", "bert4rec_cloze"])
def test_candidates_are_k_unseen_ranked_items_and_validation_scores_them(folds, params, model):
    cfg = tiny(params, model, epochs=1)
    fitted, history = fit_generator(*fit_args(folds), cfg)
    assert history["epoch"].tolist() == [0] and history["best_epoch"].tolist() == [1]
    assert_validation_matches_inference(fitted, history, folds, cfg)
    candidates = recommend(fitted, folds["fold_test_history"], folds["targets_test"], cfg)
    k = cfg["candidates_k"]
    per_user = candidates.groupby("user_id").size()
    assert (per_user == k).all()
    assert set(per_user.index) == set(folds["fold_test_history"]["user_id"])
    seen = candidates.merge(folds["fold_test_history"][["user_id", "item_id"]], on=["user_id", "item_id"])
    assert seen.empty
    assert candidates.groupby("user_id")["rank"].apply(lambda r: r.tolist() == list(range(1, k + 1))).all()
    assert candidates.groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing).all()


def test_long_sequence_model_validates_on_the_histories_it_scores(folds, params):
    """sasrec_long trains on each user's last events only, but validation must read (and filter the
    seen items of) the whole history, as inference does."""
    cfg = tiny(params, "sasrec_long", epochs=1, max_train_events=3)
    fitted, history = fit_generator(*fit_args(folds), cfg)
    assert_validation_matches_inference(fitted, history, folds, cfg)


def test_training_is_deterministic_on_cpu(folds, params):
    cfg = tiny(params, "sasrec", epochs=1)
    first, second = fit_generator(*fit_args(folds), cfg)[1], fit_generator(*fit_args(folds), cfg)[1]
    assert first["train_loss"].tolist() == second["train_loss"].tolist()
    assert first["ndcg@10"].tolist() == second["ndcg@10"].tolist()


def test_resume_from_checkpoint_trains_only_the_remaining_epochs(folds, params, tmp_path):
    cfg = tiny(params, "sasrec", epochs=1, checkpoint_dir=str(tmp_path))
    fit_generator(*fit_args(folds), cfg)
    assert (tmp_path / "last.ckpt").exists() and (tmp_path / "best.ckpt").exists()
    resumed = {**cfg, "epochs": 2, "checkpoint_dir": str(tmp_path / "resumed")}
    _, history = fit_generator(*fit_args(folds), {**resumed, "resume_from": str(tmp_path / "last.ckpt")})
    assert history["epoch"].tolist() == [1]  # epoch 0 came from the checkpoint
    _, fresh = fit_generator(*fit_args(folds), resumed)
    assert fresh["epoch"].tolist() == [0, 1]


@pytest.mark.parametrize("model", ["sasrec", "bert4rec"])
def test_training_windows_are_trained_on_and_still_yield_unseen_candidates(folds, params, model):
    cfg = tiny(params, model, epochs=1, max_seq_len=8, train_stride=4)
    plain, _ = fit_generator(*fit_args(folds), {**cfg, "train_stride": None})
    fitted, history = fit_generator(*fit_args(folds), cfg)
    assert not same_weights(fitted.members[0].module, plain.members[0].module)
    assert_validation_matches_inference(fitted, history, folds, cfg)
    history_fold = folds["fold_test_history"]
    candidates = recommend(fitted, history_fold, folds["targets_test"], cfg)
    assert (candidates.groupby("user_id").size() == cfg["candidates_k"]).all()
    assert candidates.merge(history_fold[["user_id", "item_id"]], on=["user_id", "item_id"]).empty


def test_pipeline_logs_what_it_measured_to_mlflow(folds, params, tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    pipe = create_pipeline(models=("sasrec",))
    inputs = {**pandas_inputs(pipe, folds), "params:sasrec": tiny(params, "sasrec", epochs=2, patience=5)}
    try:
        with mlflow.start_run() as run:
            catalog = DataCatalog({name: KeptMemory() for name in pipe.datasets()})
            catalog["sasrec.mlflow_metrics"] = MlflowMetricsHistoryDataset(prefix="sasrec")
            for name in pipe.inputs():
                catalog[name] = inputs[name]
            SequentialRunner().run(pipe, catalog)
        client = mlflow.tracking.MlflowClient()
        history = catalog["sasrec.train_history"].load()
        curve = client.get_metric_history(run.info.run_id, "sasrec.val.ndcg_10")
        assert [m.step for m in curve] == history["epoch"].tolist() == [0, 1]
        assert [m.value for m in curve] == pytest.approx(history["ndcg@10"].tolist())
        test_metrics = catalog["sasrec.test_metrics"].load()
        (test_ndcg,) = client.get_metric_history(run.info.run_id, "sasrec.test.ndcg_10")
        assert test_ndcg.value == pytest.approx(test_metrics["ndcg_10"].iloc[0])
        (best,) = client.get_metric_history(run.info.run_id, "sasrec.best_epoch")
        assert best.value == history["best_epoch"].iloc[0]
    finally:
        mlflow.set_tracking_uri("")


class KeptMemory(MemoryDataset):
    """A MemoryDataset the runner cannot release, so the test reads the run's outputs."""

    def __init__(self) -> None:
        super().__init__(copy_mode="assign")

    def _release(self) -> None:
        pass


def test_refit_trains_on_the_window_history_it_is_given(folds, params):
    pipe = create_pipeline(models=("sasrec",)).only_nodes("sasrec.fit", "sasrec.refit_test")
    cfg = tiny(params, "sasrec", epochs=1, refit=True)
    out = run_pipeline(pipe, {**pandas_inputs(pipe, folds), "params:sasrec": cfg})
    gen, test = out["sasrec.model_gen"], out["sasrec.model_test"]
    again = refit_or_reuse(gen, folds["fold_test_history"], cfg, "test")
    other = refit_or_reuse(gen, folds["fold_gen_train"], cfg, "test")
    # deterministic for one history, different for another: the refit learns from the history given
    assert same_weights(test.members[0].module, again.members[0].module)
    assert not same_weights(test.members[0].module, other.members[0].module)
    assert test.epochs == gen.epochs
    reused = refit_or_reuse(gen, folds["fold_test_history"], {**cfg, "refit": False}, "test")
    assert same_weights(reused.members[0].module, gen.members[0].module)


def test_refit_listed_windows_only_and_later_windows_reuse_the_latest_model(folds, params):
    pipe = create_pipeline(models=("sasrec",)).only_nodes(
        "sasrec.fit", "sasrec.refit_test", "sasrec.refit_final"
    )
    out = run_pipeline(
        pipe,
        {**pandas_inputs(pipe, folds), "params:sasrec": tiny(params, "sasrec", epochs=1, refit=["test"])},
    )
    assert not same_weights(
        out["sasrec.model_test"].members[0].module, out["sasrec.model_gen"].members[0].module
    )
    assert out["sasrec.model_final"] is out["sasrec.model_test"]


@pytest.mark.parametrize("model", ["sasrec", "bert4rec_cloze"])
def test_a_warm_refit_starts_from_the_previous_weights(folds, params, model):
    import torch

    cfg = tiny(params, model, epochs=1, refit="warm", warm_epochs=1)
    gen, _ = fit_generator(*fit_args(folds), cfg)
    previous = gen.members[0].module
    with torch.no_grad():  # weights no fresh network of this seed could have
        for weight in previous.parameters():
            weight.add_(0.5)
    before = {k: v.clone() for k, v in previous.state_dict().items()}
    frozen = {**cfg, "learning_rate": 0.0}
    warm = refit_or_reuse(gen, folds["fold_test_history"], frozen, "test")
    scratch = refit_or_reuse(gen, folds["fold_test_history"], {**frozen, "refit": True}, "test")
    assert same_weights(warm.members[0].module, previous)  # no step taken: exactly where it started
    assert not same_weights(scratch.members[0].module, previous)
    assert warm.epochs == gen.epochs  # the best count stays for any later from-scratch refit
    trained = refit_or_reuse(gen, folds["fold_test_history"], cfg, "test")
    assert not same_weights(trained.members[0].module, previous)  # it trains ...
    assert all(previous.state_dict()[k].equal(v) for k, v in before.items())  # ... on a copy
    assert trained.history["epoch"].tolist() == [0]  # for warm_epochs


def test_refit_rejects_an_unknown_window(params):
    cfg = tiny(params, "sasrec", refit=["tset"])
    with pytest.raises(ValueError, match=r"sasrec\.refit: unknown window\(s\) \['tset'\]"):
        refit_windows(cfg)
    assert refit_windows({**cfg, "refit": True}) == {"test", "final"}
    assert refit_windows({**cfg, "refit": False}) == set()
    assert refit_windows({**cfg, "refit": "test, final"}) == {"test", "final"}
    assert refit_windows({**cfg, "refit": "warm"}) == {"test", "final"}


@pytest.mark.parametrize("model", ["sasrec", "bert4rec"])
def test_ensemble_members_are_early_stopped_apart_and_averaged(folds, params, model, tmp_path):
    cfg = tiny(params, model, epochs=3, patience=3, ensemble=3, checkpoint_dir=str(tmp_path))
    fitted, history = fit_generator(*fit_args(folds), cfg)
    assert len(fitted.members) == 3 and member_seeds(cfg) == [cfg["seed"] + i for i in range(3)]
    # every member early-stops on its own: its epochs are its best checkpoint's
    seed = cfg["seed"]
    for i, member in enumerate(fitted.members):
        folder = tmp_path / f"seed_{seed + i}" if i else tmp_path
        assert member.epochs == _checkpoint_epoch(folder / "best.ckpt") + 1
    assert fitted.members[0].epochs == history["ndcg@10"].idxmax() + 1
    assert not any(same_weights(fitted.members[0].module, m.module) for m in fitted.members[1:])
    history_fold = folds["fold_test_history"]
    candidates = recommend(fitted, history_fold, folds["targets_test"], cfg)
    k = cfg["candidates_k"]
    assert (candidates.groupby("user_id").size() == k).all()
    assert candidates.merge(history_fold[["user_id", "item_id"]], on=["user_id", "item_id"]).empty
    # mean probabilities: in (0, 1], at most 1 per user, decreasing with rank
    assert candidates["score"].between(0, 1, inclusive="right").all()
    assert (candidates.groupby("user_id")["score"].sum() <= 1 + 1e-5).all()
    assert candidates.groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing).all()
    refitted = refit_or_reuse(fitted, history_fold, {**cfg, "refit": True}, "test")
    assert [m.epochs for m in refitted.members] == [m.epochs for m in fitted.members]
    with pytest.raises(ValueError, match=rf"{model}\.ensemble must be >= 1, got 0"):
        refit_or_reuse(fitted, history_fold, {**cfg, "refit": True, "ensemble": 0}, "test")


def _checkpoint_epoch(path) -> int:
    import torch

    return int(torch.load(path, map_location="cpu", weights_only=False)["epoch"])


@pytest.mark.parametrize("model", ["sasrec", "bert4rec"])
def test_bad_loss_is_named_and_weight_decay_reaches_the_optimizer(params, model):
    with pytest.raises(ValueError, match=rf"{model}\.loss must be one of .*got 'CEE'"):
        backend_for(tiny(params, model, loss="CEE"), 50).build()
    for decay in (0.0, 0.01):
        optimizer = backend_for(tiny(params, model, weight_decay=decay), 50).build().configure_optimizers()
        assert optimizer.param_groups[0]["weight_decay"] == decay


def test_label_smoothing_reaches_the_full_ce_loss_and_padding_stays_ignored(params):
    for smoothing in (0.0, 0.1):
        module = backend_for(tiny(params, "sasrec", label_smoothing=smoothing), 50).build()
        loss = module.model.loss._loss
        assert loss.label_smoothing == smoothing and loss.ignore_index == 50
        assert module.model.loss.logits_callback == module.model.get_logits


def test_unknown_backend_is_named(params):
    with pytest.raises(ValueError, match=r"sasrec\.model must be one of \['bert4rec', 'sasrec'\], got 'gru'"):
        backend_for({**params["sasrec"], "model": "gru"}, 50)


def test_cloze_task_needs_bert4rec_with_full_ce(params):
    assert is_cloze(params["bert4rec_cloze"]) and not is_cloze(params["bert4rec"])
    for bad in ({**params["bert4rec_cloze"], "loss": "BCE"}, {**params["sasrec"], "task": "cloze"}):
        with pytest.raises(ValueError, match="cloze with model bert4rec and loss CE"):
            is_cloze(bad)
