"""The mask training script's split rules: whole groups on one side, copies of one photo joined."""

from __future__ import annotations

import numpy as np
import pytest

from models.training.masks_data import group_by_content, real_groups, split_groups
from models.training.masks_fit import metrics, pick_threshold, sample_weights


def test_group_by_content_joins_copies_and_file_pairs() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(3, 8))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    vectors = np.stack([base[0], base[0], base[1], base[2]]).astype(np.float32)  # 0 and 1 are the same photo
    groups = group_by_content(vectors, ["augmented_image_3", "augmented_image_9", "12", "12"], 0.97)
    assert groups[0] == groups[1] and groups[2] == groups[3] and groups[0] != groups[2]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_keeps_groups_whole(seed: int) -> None:
    groups = [f"g{i // 3}" for i in range(60)]
    test = split_groups(groups, 0.2, seed)
    for g in set(groups):
        sides = {bool(t) for t, name in zip(test, groups, strict=True) if name == g}
        assert len(sides) == 1
    assert test.sum() == 12
    np.testing.assert_array_equal(test, split_groups(groups, 0.2, seed))


def test_readme_near_duplicates_share_a_group() -> None:
    mapping = real_groups()
    assert mapping["662"] == mapping["839"] == mapping["849"]
    assert mapping["146"] == mapping["219"] != mapping["157"]


def test_threshold_rule_keeps_no_mask_recall() -> None:
    labels = np.array([1] * 80 + [0] * 20)
    probs = np.concatenate([np.linspace(0.3, 1.0, 80), np.linspace(0.0, 0.6, 20)])
    threshold = pick_threshold(probs, labels, 0.9)
    assert metrics(probs, labels, threshold)["recall_no_mask"] >= 0.9


def test_sample_weights_balance_each_source() -> None:
    labels = np.array([1, 1, 1, 0, 1, 0])
    is_real = np.array([False, False, False, False, True, True])
    weights = sample_weights(labels, is_real, 2.0)
    synthetic = ~is_real
    assert weights[synthetic & (labels == 1)].sum() == pytest.approx(weights[synthetic & (labels == 0)].sum())
    assert weights[is_real].sum() == pytest.approx(2.0 * 2)


@pytest.mark.parametrize("kind", ["dark", "blur", "grey", "lowres", "night"])
def test_degradations_are_seeded_and_do_what_they_say(kind: str) -> None:
    from models.faces.quality import crop_light
    from models.training.masks_augment import degrade
    from tests.models.faces.conftest import load_sample

    crop = load_sample("obama_small.jpg")[40:200, 100:240]
    out, name = degrade(crop, np.random.default_rng(5), kind)
    again, _ = degrade(crop, np.random.default_rng(5), kind)
    assert name == kind and out.dtype == np.uint8 and out.ndim == 3 and np.array_equal(out, again)
    before, after = crop_light([crop]), crop_light([out])
    if kind in ("dark", "night"):
        assert after["brightness"][0] < before["brightness"][0] / 2.5
    if kind in ("grey", "night"):
        assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    if kind == "blur":
        assert after["detail"][0] < before["detail"][0] / 2
    if kind == "lowres":
        assert 10 <= min(out.shape[:2]) <= 20


def test_augmented_copies_stay_in_their_photo_group() -> None:
    import argparse

    from models.training.masks import training_set
    from models.training.masks_data import CropSet

    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (40, 40, 3), dtype=np.uint8) for _ in range(6)]
    part = CropSet(crops, [1, 0, 1, 0, 1, 0], ["a", "a", "b", "b", "c", "c"], [""] * 6, [""] * 6, [40] * 6)
    test = np.array([False, False, False, False, True, True])
    args = argparse.Namespace(copies=2, eval_size=24)
    train = training_set({"masks_real": part}, {"masks_real": test}, args, np.random.default_rng(1))
    assert len(train.y) == 4 * 3  # 4 training crops, each with 2 copies; the test group "c" never appears
    assert set(train.groups.tolist()) == {"a", "b"}
    assert (train.kinds == "original").sum() == 4
    assert train.scored[train.kinds == "original"].all()  # the colour threshold is chosen on originals only
    assert not train.scored[train.kinds != "original"].any()


def test_grey_threshold_is_chosen_out_of_fold_on_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from models.training import masks_fit
    from models.training.masks_fit import choose_model

    # one quick candidate: this tests the fold bookkeeping, not the heads (the MLP takes seconds even here)
    monkeypatch.setattr(
        masks_fit, "candidates", lambda seed: {"logreg": lambda: make_pipeline(StandardScaler(), LogisticRegression())}
    )

    rng = np.random.default_rng(3)
    y = np.array([0, 1] * 40)
    x = (rng.normal(size=(80, 6)) + 2.5 * y[:, None]).astype(np.float32)
    groups = np.array([f"g{i // 4}" for i in range(80)])
    probe = (x * 0.7 + rng.normal(scale=0.3, size=x.shape)).astype(np.float32)  # "grey": weaker, noisier
    args = argparse.Namespace(real_weight=2.0, seed=0, min_recall_no_mask=0.85)
    ones = np.ones(80, bool)
    choice = choose_model(x, y, groups, ones, ones, args, (probe, y, groups))
    cv = choice.cv[choice.name]
    assert cv["real_grey_n"] == 80 and cv["real_grey_recall_no_mask"] >= 0.85 and cv["real_grey_accuracy"] > 0.85
    assert 0.0 < choice.threshold_grey < 1.0 and 0.0 < choice.threshold < 1.0
