"""Training shared by every task: ensembles of seeds, each member with its own checkpoints, histories."""

from __future__ import annotations

import pandas as pd

from recsys_challenge.pipelines.sequential.model import Member
from recsys_challenge.pipelines.sequential.settings import SequentialSettings
from recsys_challenge.pipelines.sequential.training import fit_members, history

from .conftest import VOCAB, settings


class Recorder:
    """A ``fit_member`` that trains nothing: it records what it was asked and returns a member whose
    best epoch count is its seed's last digit."""

    def __init__(self) -> None:
        self.calls: list[tuple[SequentialSettings, str | None]] = []

    def __call__(self, member: SequentialSettings, folder: str | None) -> tuple[Member, pd.DataFrame]:
        self.calls.append((member, folder))
        return Member(object(), member.seed % 10), pd.DataFrame({"epoch": [0], "seed": [member.seed]})


def test_members_train_with_consecutive_seeds_and_only_the_first_resumes(params, tmp_path):
    config = settings(
        params,
        "sasrec",
        seed=41,
        ensemble=3,
        checkpoint_dir=str(tmp_path),
        resume_from=str(tmp_path / "last.ckpt"),
    )
    fit = Recorder()
    model = fit_members(fit, VOCAB, config, config.checkpoint_dir)
    seeds = [member.seed for member, _ in fit.calls]
    assert seeds == config.member_seeds == [41, 42, 43]
    assert [member.resume_from for member, _ in fit.calls] == [str(tmp_path / "last.ckpt"), None, None]
    # the first member keeps the folder; the others get their own, so no checkpoint is overwritten
    assert [folder for _, folder in fit.calls] == [
        str(tmp_path),
        str(tmp_path / "seed_42"),
        str(tmp_path / "seed_43"),
    ]
    # each member is trained with the block's settings but its seed and resume point
    first = fit.calls[0][0]
    assert all(m.but(seed=first.seed, resume_from=first.resume_from) == first for m, _ in fit.calls)
    assert first.but(seed=config.seed) == config
    assert [m.epochs for m in model.members] == [1, 2, 3] and model.epochs == 1
    assert model.history["seed"].tolist() == [41]  # the first member's history
    assert model.settings is config and model.vocab is VOCAB


def test_without_a_checkpoint_folder_every_member_gets_a_temporary_one(params):
    fit = Recorder()
    fit_members(fit, VOCAB, settings(params, "sasrec", ensemble=2), None)
    assert [folder for _, folder in fit.calls] == [None, None]


def test_history_has_one_row_per_epoch_from_lightnings_csv_log(tmp_path):
    assert history(str(tmp_path)).empty  # nothing logged
    pd.DataFrame(
        {
            "epoch": [0, 0, 0, 1, 1],
            "step": [1, 2, 2, 3, 4],
            "train_loss_step": [3.0, 2.0, None, 1.5, None],
            "train_loss_epoch": [None, None, 2.5, None, 1.4],
            "ndcg@10": [None, None, 0.1, None, 0.2],
        }
    ).to_csv(tmp_path / "metrics.csv", index=False)
    assert history(str(tmp_path)).to_dict("list") == {
        "epoch": [0, 1],
        "train_loss": [2.5, 1.4],
        "ndcg@10": [0.1, 0.2],
    }
