"""Sequential generators: namespaced template, candidate schema, validation = inference, refits, MLflow."""

from __future__ import annotations

import mlflow
import pytest
import torch
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_mlflow.io.metrics import MlflowMetricsHistoryDataset
from pydantic import ValidationError

from recsys_challenge.core import PROTOCOL, WINDOWS
from recsys_challenge.evaluation import ranking_metrics
from recsys_challenge.pipelines.sequential import MODELS, create_pipeline
from recsys_challenge.pipelines.sequential.backends import backend_for
from recsys_challenge.pipelines.sequential.nodes import fit_generator, recommend, refit_or_reuse
from recsys_challenge.pipelines.sequential.settings import SequentialSettings

from .conftest import fit_args, pandas_inputs, run_pipeline, same_weights, settings


def assert_validation_matches_inference(fitted, history, folds, config: SequentialSettings) -> None:
    """The best epoch's validation NDCG@10 is what the model's own candidates score on the reranker
    window: validation reads the same histories and removes the same seen items as inference."""
    best = history.set_index("epoch").loc[fitted.epochs - 1, "ndcg@10"]
    candidates = recommend(
        fitted, folds["fold_gen_train"], folds["targets_rerank"], folds[PROTOCOL], config.but(candidates_k=10)
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
    params = {f"params:{m}" for m in MODELS}
    assert pipe.inputs() == {f"{name}@pandas" for name in shared} | targets | {PROTOCOL} | params
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
    config = settings(params, model, epochs=1)
    fitted, history = fit_generator(*fit_args(folds), config)
    assert history["epoch"].tolist() == [0] and history["best_epoch"].tolist() == [1]
    assert_validation_matches_inference(fitted, history, folds, config)
    candidates = recommend(fitted, folds["fold_test_history"], folds["targets_test"], folds[PROTOCOL], config)
    k = config.candidates_k
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
    config = settings(params, "sasrec_long", epochs=1, max_train_events=3)
    fitted, history = fit_generator(*fit_args(folds), config)
    assert_validation_matches_inference(fitted, history, folds, config)


def test_training_is_deterministic_on_cpu(folds, params):
    config = settings(params, "sasrec", epochs=1)
    first, second = fit_generator(*fit_args(folds), config)[1], fit_generator(*fit_args(folds), config)[1]
    assert first["train_loss"].tolist() == second["train_loss"].tolist()
    assert first["ndcg@10"].tolist() == second["ndcg@10"].tolist()


def test_resume_from_checkpoint_trains_only_the_remaining_epochs(folds, params, tmp_path):
    config = settings(params, "sasrec", epochs=1, checkpoint_dir=str(tmp_path))
    fit_generator(*fit_args(folds), config)
    assert (tmp_path / "last.ckpt").exists() and (tmp_path / "best.ckpt").exists()
    resumed = config.but(epochs=2, checkpoint_dir=str(tmp_path / "resumed"))
    _, history = fit_generator(*fit_args(folds), resumed.but(resume_from=str(tmp_path / "last.ckpt")))
    assert history["epoch"].tolist() == [1]  # epoch 0 came from the checkpoint
    _, fresh = fit_generator(*fit_args(folds), resumed)
    assert fresh["epoch"].tolist() == [0, 1]


@pytest.mark.parametrize("model", ["sasrec", "bert4rec"])
def test_training_windows_are_trained_on_and_still_yield_unseen_candidates(folds, params, model):
    config = settings(params, model, epochs=1, max_seq_len=8, train_stride=4)
    plain, _ = fit_generator(*fit_args(folds), config.but(train_stride=None))
    fitted, history = fit_generator(*fit_args(folds), config)
    assert not same_weights(fitted.members[0].module, plain.members[0].module)
    assert_validation_matches_inference(fitted, history, folds, config)
    history_fold = folds["fold_test_history"]
    candidates = recommend(fitted, history_fold, folds["targets_test"], folds[PROTOCOL], config)
    assert (candidates.groupby("user_id").size() == config.candidates_k).all()
    assert candidates.merge(history_fold[["user_id", "item_id"]], on=["user_id", "item_id"]).empty


def test_pipeline_logs_what_it_measured_to_mlflow(folds, params, tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    pipe = create_pipeline(models=("sasrec",))
    inputs = {**pandas_inputs(pipe, folds), "params:sasrec": settings(params, "sasrec", epochs=2, patience=5)}
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
    config = settings(params, "sasrec", epochs=1, refit=True)
    out = run_pipeline(pipe, {**pandas_inputs(pipe, folds), "params:sasrec": config})
    gen, test, protocol = out["sasrec.model_gen"], out["sasrec.model_test"], folds[PROTOCOL]
    again = refit_or_reuse(gen, folds["fold_test_history"], protocol, config, "test")
    other = refit_or_reuse(gen, folds["fold_gen_train"], protocol, config, "test")
    # deterministic for one history, different for another: the refit learns from the history given
    assert same_weights(test.members[0].module, again.members[0].module)
    assert not same_weights(test.members[0].module, other.members[0].module)
    assert test.epochs == gen.epochs
    reused = refit_or_reuse(gen, folds["fold_test_history"], protocol, config.but(refit=False), "test")
    assert same_weights(reused.members[0].module, gen.members[0].module)


def test_refit_listed_windows_only_and_later_windows_reuse_the_latest_model(folds, params):
    pipe = create_pipeline(models=("sasrec",)).only_nodes(
        "sasrec.fit", "sasrec.refit_test", "sasrec.refit_final"
    )
    out = run_pipeline(
        pipe,
        {**pandas_inputs(pipe, folds), "params:sasrec": settings(params, "sasrec", epochs=1, refit=["test"])},
    )
    assert not same_weights(
        out["sasrec.model_test"].members[0].module, out["sasrec.model_gen"].members[0].module
    )
    assert out["sasrec.model_final"] is out["sasrec.model_test"]


def close_weights(a, b) -> bool:
    """Whether two networks hold the same tensors up to float rounding."""
    first, second = a.state_dict(), b.state_dict()
    return first.keys() == second.keys() and all(
        torch.allclose(first[k].float(), second[k].float(), rtol=0, atol=1e-6) for k in first
    )


@pytest.mark.parametrize("model", ["sasrec", "bert4rec_cloze"])
def test_a_warm_refit_starts_from_the_previous_weights(folds, params, model):
    config = settings(params, model, epochs=1, refit="warm", warm_epochs=1)
    gen, _ = fit_generator(*fit_args(folds), config)
    previous = gen.members[0].module
    with torch.no_grad():  # weights no fresh network of this seed could have
        for weight in previous.parameters():
            weight.add_(0.5)
    before = {k: v.clone() for k, v in previous.state_dict().items()}
    history, protocol = folds["fold_test_history"], folds[PROTOCOL]
    # a learning rate too small to move a weight: where a refit ends is where it started
    frozen = config.but(learning_rate=1e-12)
    warm = refit_or_reuse(gen, history, protocol, frozen, "test")
    scratch = refit_or_reuse(gen, history, protocol, frozen.but(refit=True), "test")
    assert close_weights(warm.members[0].module, previous)  # warm: from the previous weights
    assert not close_weights(scratch.members[0].module, previous)
    assert warm.epochs == gen.epochs  # the best count stays for any later from-scratch refit
    trained = refit_or_reuse(gen, history, protocol, config, "test")
    assert not close_weights(trained.members[0].module, previous)  # it trains ...
    assert all(previous.state_dict()[k].equal(v) for k, v in before.items())  # ... on a copy
    assert trained.history["epoch"].tolist() == [0]  # for warm_epochs


@pytest.mark.parametrize("model", ["sasrec", "bert4rec"])
def test_ensemble_members_are_early_stopped_apart_and_averaged(folds, params, model, tmp_path):
    config = settings(params, model, epochs=3, patience=3, ensemble=3, checkpoint_dir=str(tmp_path))
    fitted, history = fit_generator(*fit_args(folds), config)
    assert len(fitted.members) == 3 and config.member_seeds == [config.seed + i for i in range(3)]
    # every member early-stops on its own: its epochs are its best checkpoint's
    seed = config.seed
    for i, member in enumerate(fitted.members):
        folder = tmp_path / f"seed_{seed + i}" if i else tmp_path
        assert member.epochs == _checkpoint_epoch(folder / "best.ckpt") + 1
    assert fitted.members[0].epochs == history["ndcg@10"].idxmax() + 1
    assert not any(same_weights(fitted.members[0].module, m.module) for m in fitted.members[1:])
    history_fold = folds["fold_test_history"]
    candidates = recommend(fitted, history_fold, folds["targets_test"], folds[PROTOCOL], config)
    k = config.candidates_k
    assert (candidates.groupby("user_id").size() == k).all()
    assert candidates.merge(history_fold[["user_id", "item_id"]], on=["user_id", "item_id"]).empty
    # mean probabilities: in (0, 1], at most 1 per user, decreasing with rank
    assert candidates["score"].between(0, 1, inclusive="right").all()
    assert (candidates.groupby("user_id")["score"].sum() <= 1 + 1e-5).all()
    assert candidates.groupby("user_id")["score"].apply(lambda s: s.is_monotonic_decreasing).all()
    refitted = refit_or_reuse(fitted, history_fold, folds[PROTOCOL], config.but(refit=True), "test")
    assert [m.epochs for m in refitted.members] == [m.epochs for m in fitted.members]
    with pytest.raises(ValidationError, match=r"ensemble\n  Input should be greater than or equal to 1"):
        config.but(ensemble=0)


def _checkpoint_epoch(path) -> int:
    return int(torch.load(path, map_location="cpu", weights_only=False)["epoch"])


@pytest.mark.parametrize("model", ["sasrec", "bert4rec"])
def test_bad_loss_is_named_and_weight_decay_reaches_the_optimizer(params, model):
    with pytest.raises(
        ValidationError, match=r"loss\n  Input should be 'CE', 'CE_sampled', 'BCE' or 'BCE_sampled'"
    ):
        settings(params, model, loss="CEE")
    for decay in (0.0, 0.01):
        optimizer = (
            backend_for(settings(params, model, weight_decay=decay), 50).build().configure_optimizers()
        )
        assert optimizer.param_groups[0]["weight_decay"] == decay


def test_past_the_catalogue_size_set_both_backends_train_a_sampled_loss(params):
    from recsys_challenge.pipelines.sequential.backends.sasrec import CorrectedSampledCE

    sasrec = settings(params, "sasrec", sampled_loss_from_items=50, negatives=7)
    assert not isinstance(backend_for(sasrec, 49).build().model.loss, CorrectedSampledCE)
    assert isinstance(backend_for(sasrec, 50).build().model.loss, CorrectedSampledCE)
    bert = settings(params, "bert4rec", sampled_loss_from_items=50, negatives=7)
    assert backend_for(bert, 49).build()._loss_sample_count is None
    assert backend_for(bert, 50).build()._loss_sample_count == 7


def test_label_smoothing_reaches_the_full_ce_loss_and_padding_stays_ignored(params):
    for smoothing in (0.0, 0.1):
        module = backend_for(settings(params, "sasrec", label_smoothing=smoothing), 50).build()
        loss = module.model.loss._loss
        assert loss.label_smoothing == smoothing and loss.ignore_index == 50
        assert module.model.loss.logits_callback == module.model.get_logits


def test_unknown_backend_is_named(params):
    with pytest.raises(ValidationError, match=r"model\n  Input should be 'sasrec' or 'bert4rec'"):
        settings(params, "sasrec", model="gru")
