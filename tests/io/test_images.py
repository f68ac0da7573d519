"""Folders of images: pixels, shapes, labels and ids read back; one DataError per kind of bad folder."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import datafactors as df
from datafactors import ConfigError, DataError
from datafactors.io import images as images_mod
from datafactors.io.images import apply_image_shape, read_image_folder
from datafactors.io.readers import read_frame, read_path, write_table

CLASSES = ("0", "1", "2")
PER_CLASS = 3


def _digit_pixels() -> dict[str, list[np.ndarray]]:
    """Three images per class of sklearn's 8x8 digits, scaled to 0..255 and up to 16x16 (nearest)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    out: dict[str, list[np.ndarray]] = {}
    for c in CLASSES:
        rows = np.flatnonzero(bunch.target == int(c))[:PER_CLASS]
        imgs = [np.round(bunch.images[r] * 255 / 16).astype(np.uint8) for r in rows]
        out[c] = [np.kron(im, np.ones((2, 2), dtype=np.uint8)) for im in imgs]
    return out


def _write_folder(root: Path, pixels: dict[str, list[np.ndarray]], suffix: str = ".png", **save: object) -> Path:
    for c, imgs in pixels.items():
        (root / c).mkdir(parents=True, exist_ok=True)
        for i, arr in enumerate(imgs):
            Image.fromarray(arr).save(root / c / f"{i:03d}{suffix}", **save)
    return root


@pytest.fixture
def digits_pixels() -> dict[str, list[np.ndarray]]:
    return _digit_pixels()


@pytest.fixture
def photos(tmp_path: Path, digits_pixels) -> Path:
    return _write_folder(tmp_path / "photos", digits_pixels)


# ------------------------------------------------------------------ reading back


def test_png_pixels_labels_ids_read_back_exactly(photos, digits_pixels):
    ds = read_image_folder(photos)
    assert ds.name == "photos"
    assert ds.n == len(CLASSES) * PER_CLASS and ds.n_features == 16 * 16
    assert ds.example_shape == (16, 16)
    assert ds.X.dtype == np.float32 and 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    assert ds.class_names == list(CLASSES)
    assert ds.ids.tolist() == [f"{c}/{i:03d}.png" for c in CLASSES for i in range(PER_CLASS)]
    assert [ds.class_names[k] for k in ds.y] == [c for c in CLASSES for _ in range(PER_CLASS)]
    expected = np.stack([im.reshape(-1) for c in CLASSES for im in digits_pixels[c]]).astype(np.float32) / 255
    np.testing.assert_array_equal(ds.X, expected)
    np.testing.assert_array_equal(ds.X[4].reshape(ds.example_shape) * 255, digits_pixels["1"][1])
    assert list(ds.extra.columns) == ["path"]
    assert ds.extra["path"].tolist() == [str((photos / i).absolute()) for i in ds.ids]


def test_load_and_read_path_dispatch_a_folder_of_images(photos):
    for ds in (df.load(str(photos)), df.load(photos), read_path(photos)):
        assert ds.example_shape == (16, 16) and ds.n_classes == 3
    assert df.load(str(photos) + "/", image_size=(8, 8)).example_shape == (8, 8)


def test_subset_and_split_keep_the_shape(photos):
    from datafactors.splits import stratified_split

    ds = read_image_folder(photos)
    sp = stratified_split(ds, seed=0, test_size=0.34)
    assert ds.subset(sp.train).example_shape == ds.subset(sp.test).example_shape == (16, 16)


def test_auto_mode_turns_rgb_when_any_image_has_colour(photos, digits_pixels):
    colour = np.zeros((16, 16, 3), dtype=np.uint8)
    colour[..., 0] = 200
    colour[..., 2] = 50
    Image.fromarray(colour).save(photos / "2" / "red.png")
    ds = read_image_folder(photos)
    assert ds.example_shape == (16, 16, 3) and ds.n_features == 16 * 16 * 3
    row = ds.X[list(ds.ids).index("2/red.png")].reshape(16, 16, 3) * 255
    np.testing.assert_array_equal(row, colour)
    grey = ds.X[0].reshape(16, 16, 3) * 255  # a grey image repeats its value on every channel
    for ch in range(3):
        np.testing.assert_array_equal(grey[..., ch], digits_pixels["0"][0])


def test_mode_given_forces_grey_or_colour(photos):
    rgb = read_image_folder(photos, mode="RGB")
    assert rgb.example_shape == (16, 16, 3)
    np.testing.assert_array_equal(rgb.X.reshape(-1, 16, 16, 3)[..., 1], read_image_folder(photos).X.reshape(-1, 16, 16))
    Image.new("RGB", (16, 16), (255, 0, 0)).save(photos / "0" / "red.png")
    assert read_image_folder(photos, mode="L").example_shape == (16, 16)
    with pytest.raises(DataError, match="mode must be one of 'auto', 'L', 'RGB', got 'grey'"):
        read_image_folder(photos, mode="grey")


def test_jpeg_reads_close_to_the_original(tmp_path, digits_pixels):
    root = _write_folder(tmp_path / "jpegs", digits_pixels, ".jpg", quality=95)
    ds = read_image_folder(root)
    assert ds.example_shape == (16, 16)
    assert ds.ids[0] == "0/000.jpg"
    expected = np.stack([im.reshape(-1) for c in CLASSES for im in digits_pixels[c]]) / 255
    assert np.abs(ds.X - expected).mean() < 0.05


def test_bmp_gif_and_webp_are_images(tmp_path, digits_pixels):
    from PIL import features

    suffixes = [".bmp", ".gif"] + ([".webp"] if features.check("webp") else [])
    root = tmp_path / "mixed"
    for j, (c, imgs) in enumerate(digits_pixels.items()):
        (root / c).mkdir(parents=True)
        for i, arr in enumerate(imgs):
            suffix = suffixes[(i + j) % len(suffixes)]
            save = {"lossless": True} if suffix == ".webp" else {}
            Image.fromarray(arr).save(root / c / f"{i}{suffix}", **save)
    ds = read_image_folder(root)
    # a grey GIF is a palette image with a grey palette: still grey in auto mode
    assert ds.example_shape == (16, 16) and ds.n == len(CLASSES) * PER_CLASS
    expected = np.stack([im.reshape(-1) for c in CLASSES for im in digits_pixels[c]]).astype(np.float32) / 255
    np.testing.assert_array_equal(ds.X, expected)


def test_size_resizes_with_bilinear(photos, digits_pixels):
    ds = read_image_folder(photos, size=(8, 12))
    assert ds.example_shape == (8, 12) and ds.n_features == 96
    want = np.asarray(Image.fromarray(digits_pixels["0"][0]).resize((12, 8), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(ds.X[0].reshape(8, 12) * 255, want)
    assert images_mod.RESAMPLE == "bilinear"


def test_mixed_sizes_need_size(photos):
    Image.new("L", (20, 10)).save(photos / "1" / "wide.png")
    with pytest.raises(DataError) as e:
        read_image_folder(photos)
    msg = str(e.value)
    assert "2 different sizes" in msg and "1/wide.png is 10x20" in msg and "size=(height, width)" in msg
    assert "image_size" in msg
    assert read_image_folder(photos, size=(16, 16)).n == len(CLASSES) * PER_CLASS + 1


@pytest.mark.parametrize("size", [(16,), (0, 16), (16.0, 16), "16x16", 16, (True, 16)])
def test_bad_size_is_named(photos, size):
    with pytest.raises(DataError, match="size must be \\(height, width\\)"):
        read_image_folder(photos, size=size)


# ------------------------------------------------------------------ bad folders


def test_corrupt_image_is_named(photos):
    (photos / "1" / "bad.png").write_bytes(b"not an image at all")
    with pytest.raises(DataError, match=r"cannot read image 1/bad\.png in .*photos"):
        read_image_folder(photos)


def test_truncated_image_is_named(photos):
    good = (photos / "2" / "000.png").read_bytes()
    (photos / "2" / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=r"cannot read image 2/cut\.png"):
        read_image_folder(photos)


def test_non_image_file_is_named_and_hidden_files_are_skipped(photos):
    (photos / ".DS_Store").write_bytes(b"\0\1")
    (photos / "_unused").mkdir()
    (photos / "_unused" / "x.png").write_bytes(b"junk")
    (photos / "0" / ".hidden.png").write_bytes(b"junk")
    assert read_image_folder(photos).n == len(CLASSES) * PER_CLASS
    (photos / "1" / "notes.txt").write_text("hello")
    with pytest.raises(DataError) as e:
        read_image_folder(photos)
    assert "1 file(s) that are not" in str(e.value) and "1/notes.txt" in str(e.value)


def test_empty_class_folder_is_skipped(photos):
    (photos / "3").mkdir()
    ds = read_image_folder(photos)
    assert ds.class_names == list(CLASSES)


def test_folder_without_images_is_an_error(tmp_path):
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    (empty / "b").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        read_image_folder(empty)
    with pytest.raises(DataError, match=r"holds no \.parquet, \.jsonl, \.csv or \.tsv shards and no images \(\.png"):
        df.load(str(empty))


def test_root_level_images_are_an_unlabeled_pool(tmp_path, digits_pixels):
    root = tmp_path / "pool"
    root.mkdir()
    for i, arr in enumerate(digits_pixels["0"]):
        Image.fromarray(arr).save(root / f"p{i}.png")
    ds = df.load(str(root))
    assert ds.y is None and ds.n_classes == 0 and not ds.has_labels
    assert ds.ids.tolist() == ["p0.png", "p1.png", "p2.png"] and ds.example_shape == (16, 16)


def test_images_both_at_the_top_and_in_class_folders_are_refused(photos):
    Image.new("L", (16, 16)).save(photos / "loose.png")
    with pytest.raises(DataError, match="both at its top level \\(loose.png\\) and in class subfolders"):
        read_image_folder(photos)


def test_one_class_folder_is_refused(tmp_path, digits_pixels):
    root = _write_folder(tmp_path / "one", {"0": digits_pixels["0"]})
    with pytest.raises(DataError, match="one class subfolder only \\(0/\\)"):
        read_image_folder(root)


def test_folder_with_shards_and_images_is_refused(photos):
    write_table(pd.DataFrame({"x": [1.0, 2.0], "label": [0, 1]}), photos / "table.parquet")
    with pytest.raises(DataError) as e:
        df.load(str(photos))
    msg = str(e.value)
    assert "both table shards (1, e.g. table.parquet) and images (9, e.g. 0/000.png)" in msg
    with pytest.raises(DataError, match="both table shards"):
        read_frame(photos)


def test_table_folders_still_read_as_shards(tmp_path):
    root = tmp_path / "shards"
    root.mkdir()
    write_table(pd.DataFrame({"x": [1.0, 2.0], "label": [0, 1]}), root / "part-0.parquet")
    assert df.load(str(root)).n == 2


def test_read_frame_of_an_image_folder_says_so(photos):
    with pytest.raises(DataError, match="a table with the text column 'text' is needed; .* is a folder of images"):
        read_frame(photos, what="a table with the text column 'text'")


def test_table_arguments_are_refused_for_images(photos):
    with pytest.raises(DataError, match="label='category' applies to tables"):
        df.load(str(photos), label="category")


def test_pillow_missing_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(DataError, match="needs Pillow.*pip install"):
        images_mod._pillow()


# ------------------------------------------------------------------ image_size / image_shape in load


def test_image_size_on_other_data_is_a_config_error(tmp_path):
    p = write_table(pd.DataFrame({"x": [1.0, 2.0], "label": [0, 1]}), tmp_path / "t.csv")
    with pytest.raises(ConfigError, match="image_size applies to a folder of images; .*t.csv is not one"):
        df.load(str(p), image_size=(8, 8))
    with pytest.raises(ConfigError, match="image_mode applies to a folder of images"):
        df.load(str(p), image_mode="L")
    with pytest.raises(ConfigError, match="image_size applies to a folder of images; 'digits' is not a path"):
        df.load("digits", image_size=(8, 8))
    with pytest.raises(ConfigError, match="image_size applies to a folder of images; a DataFrame is not a path"):
        df.load(pd.DataFrame({"x": [1.0, 2.0], "label": [0, 1]}), image_size=(8, 8))


def test_image_shape_declares_the_shape_of_a_table(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((6, 12)), columns=[f"p{j}" for j in range(12)])
    frame["label"] = [0, 1] * 3
    p = write_table(frame, tmp_path / "pixels.parquet")
    assert df.load(str(p), image_shape=(3, 4)).example_shape == (3, 4)
    assert df.load(str(p), image_shape=[2, 2, 3]).example_shape == (2, 2, 3)
    assert df.load(str(p)).example_shape is None
    assert df.load(frame, image_shape=(12,)).example_shape == (12,)
    with pytest.raises(ConfigError, match=r"image_shape \(5, 5\) holds 25 values, but pixels.parquet has 12 features"):
        df.load(str(p), image_shape=(5, 5))


def test_image_shape_on_npz_and_builtins(tmp_path):
    p = tmp_path / "a.npz"
    np.savez(p, X=np.zeros((4, 16)), y=np.array([0, 1, 0, 1]))
    assert df.load(str(p), image_shape=(4, 4)).example_shape == (4, 4)
    train, test, ood = df.load("digits", split=True, image_shape=(64,))
    assert train.example_shape == test.example_shape == ood.example_shape == (64,)


def test_apply_image_shape_names_the_key():
    ds = df.Dataset.from_arrays(np.zeros((2, 6)), [0, 1], name="toy")
    assert apply_image_shape(ds, None) is ds
    with pytest.raises(ConfigError, match=r"image_shape \(4,\) holds 4 values, but toy has 6 features"):
        apply_image_shape(ds, [4])


# ------------------------------------------------------------------ built-ins


def test_digits_declares_its_8x8_shape():
    data = df.io.load_builtin("digits")
    for ds in (data.train, data.test, data.ood):
        assert ds.example_shape == (8, 8)


def test_mnist1d_declares_its_signal_length():
    data = df.io.load_builtin("mnist1d", n_train=40, n_test=20, n_ood=20)
    for ds in (data.train, data.test, data.ood):
        assert ds.example_shape == (ds.n_features,) == (40,)
