"""Omniglot from its zips and folders, and the class splits made for it, on small generated sets."""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganaug.data import (
    ArrayDataset,
    dataset_names,
    few_shot,
    load_dataset,
    split_by_group,
    split_classes,
    split_per_class,
)

DRAWERS = 4
# Two small sets that share Greek, as images_background_small1/2 share Greek and Latin.
SMALL1 = {"Balinese": 2, "Greek": 2}
SMALL2 = {"Greek": 2, "Latin": 2}
UNION = [f"{a}/character{c:02d}" for a in ("Balinese", "Greek", "Latin") for c in (1, 2)]


def drawing(key: str) -> bytes:
    """A 105×105 1-bit PNG, black stroke on white, the same bytes for the same key."""
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    page = np.ones((105, 105), dtype=bool)
    r, c = rng.integers(10, 80, size=2)
    page[r : r + 20, c : c + 6] = False
    buf = io.BytesIO()
    Image.fromarray(page).save(buf, format="PNG")  # a bool array saves as mode "1", as Omniglot's
    return buf.getvalue()


def members(alphabets: dict[str, int]) -> dict[str, bytes]:
    """``Alphabet/characterNN/<id>_<drawer>.png`` → PNG bytes."""
    out = {}
    for alphabet, n_chars in alphabets.items():
        for ch in range(1, n_chars + 1):
            for drawer in range(1, DRAWERS + 1):
                name = f"{alphabet}/character{ch:02d}/{ch:04d}_{drawer:02d}.png"
                out[name] = drawing(name)
    return out


def write_zip(path: Path, top: str, files: dict[str, bytes], reverse: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(f"{top}/", b"")
        for name in sorted(files, reverse=reverse):
            z.writestr(f"{top}/{name}", files[name])
    return path


def write_folder(path: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


@pytest.fixture
def small_root(tmp_path):
    write_zip(tmp_path / "images_background_small1.zip", "images_background_small1", members(SMALL1))
    write_zip(tmp_path / "images_background_small2.zip", "images_background_small2", members(SMALL2))
    return tmp_path


def test_the_zips_are_read_as_one_set_a_shared_drawing_once(small_root):
    ds = load_dataset("omniglot", root=small_root, train=None)
    assert ds.classes == UNION and ds.class_groups == ["Balinese"] * 2 + ["Greek"] * 2 + ["Latin"] * 2
    assert ds.data.shape == (len(UNION) * DRAWERS, 28, 28) and ds.data.dtype == np.uint8
    assert np.bincount(ds.targets).tolist() == [DRAWERS] * len(UNION)
    assert not list(small_root.glob("images_*/"))  # read in place, nothing extracted
    assert "omniglot" in dataset_names()


def test_ink_is_bright_on_black_and_the_box_filter_keeps_it(small_root):
    native = load_dataset("omniglot", root=small_root, train=None, image_size=105)
    page = np.asarray(Image.open(io.BytesIO(drawing("Balinese/character01/0001_01.png"))).convert("L"))
    np.testing.assert_array_equal(native.data[0], 255 - page)
    assert (native.data == 0).mean() > 0.9 and native.data.max() == 255  # strokes bright, page black
    small = load_dataset("omniglot", root=small_root, train=None, image_size=14)
    assert small.image_shape == (14, 14)
    # a box filter averages the pixels it covers: the ink per image survives the resize
    np.testing.assert_allclose(small.data.mean(axis=(1, 2)), native.data.mean(axis=(1, 2)), atol=1.5)


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_a_bad_image_size_is_refused(small_root, size):
    with pytest.raises(ValueError, match="image_size must be a positive integer"):
        load_dataset("omniglot", root=small_root, image_size=size)


def test_other_sets_refuse_an_image_size():
    with pytest.raises(ValueError, match="image_size is read by omniglot only"):
        load_dataset("digits", image_size=28)


def test_class_order_does_not_depend_on_zip_names_or_member_order(small_root, tmp_path_factory):
    other = tmp_path_factory.mktemp("swapped")  # the sets under each other's names, members reversed
    write_zip(other / "images_background_small1.zip", "images_background_small2", members(SMALL2), reverse=True)
    write_zip(other / "images_background_small2.zip", "images_background_small1", members(SMALL1), reverse=True)
    a = load_dataset("omniglot", root=small_root, train=None)
    b = load_dataset("omniglot", root=other, train=None)
    assert a.classes == b.classes
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.targets, b.targets)


def test_train_and_test_are_the_fixed_stratified_split_of_sets_without_one(small_root):
    train = load_dataset("omniglot", root=small_root)
    test = load_dataset("omniglot", root=small_root, train=False)
    assert len(train) + len(test) == len(UNION) * DRAWERS and not set(train.indices) & set(test.indices)
    assert np.bincount(test.targets).tolist() == [1] * len(UNION)  # 25 % of 4 drawers
    assert train.class_groups == test.class_groups and train.source == test.source == "omniglot[all]"


def test_alphabets_are_kept_through_subset_and_few_shot(small_root):
    ds = load_dataset("omniglot", root=small_root, train=None)
    assert ds.subset(np.arange(0, len(ds), 3)).class_groups == ds.class_groups
    shot, rest = few_shot(ds, 2, seed=0)
    assert shot.class_groups == rest.class_groups == ds.class_groups
    with pytest.raises(ValueError, match="one group per class"):
        ArrayDataset(ds.data, ds.targets, ds.classes, class_groups=["Greek"])


def test_the_same_drawing_with_different_bytes_is_an_error(small_root):
    clash = members({"Greek": 1})
    clash["Greek/character01/0001_01.png"] = drawing("something else")
    write_zip(small_root / "images_extra.zip", "images_extra", clash)
    with pytest.raises(ValueError, match="Greek/character01/0001_01.png differs between .*small1.zip.*images_extra.zip"):
        load_dataset("omniglot", root=small_root)


def test_torchvision_layout_background_and_evaluation(tmp_path):
    tv = tmp_path / "omniglot-py"
    write_folder(tv / "images_background", members({"Greek": 2}))
    write_folder(tv / "images_evaluation", members({"Korean": 1, "Tagalog": 1}))
    # torchvision keeps the zip beside the folder it extracted: read, and the same drawings once
    write_zip(tv / "images_background.zip", "images_background", members({"Greek": 2}))
    ds = load_dataset("omniglot", root=tmp_path, train=None)
    assert ds.classes == ["Greek/character01", "Greek/character02", "Korean/character01", "Tagalog/character01"]
    assert len(ds) == 4 * DRAWERS and set(ds.class_groups) == {"Greek", "Korean", "Tagalog"}


def test_an_extracted_zip_folder_or_the_folder_itself(tmp_path):
    folder = write_folder(tmp_path / "images_background_small2", members(SMALL2))
    (folder / "Greek" / ".DS_Store").write_bytes(b"junk")  # hidden files are not drawings
    (folder / "Latin" / "character01" / "._0001_01.png").write_bytes(b"junk")
    a = load_dataset("omniglot", root=tmp_path, train=None)
    b = load_dataset("omniglot", root=folder, train=None)
    assert a.classes == b.classes == ["Greek/character01", "Greek/character02", "Latin/character01", "Latin/character02"]
    np.testing.assert_array_equal(a.data, b.data)


def test_missing_root_and_empty_root_say_what_was_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match="root folder not found"):
        load_dataset("omniglot", root=tmp_path / "nowhere")
    (tmp_path / "images_background.zip").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="is a file, not the folder that holds the zips"):
        load_dataset("omniglot", root=tmp_path / "images_background.zip")
    (tmp_path / "images_background.zip").unlink()
    with pytest.raises(FileNotFoundError, match=r"no images_\*\.zip file or extracted images_\*/"):
        load_dataset("omniglot", root=tmp_path)
    (tmp_path / "images_background").mkdir()
    with pytest.raises(ValueError, match="images_background: holds no PNG laid out as <Alphabet>"):
        load_dataset("omniglot", root=tmp_path)


def test_a_corrupt_zip_is_named(small_root):
    (small_root / "images_background_small2.zip").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="small2.zip: not a readable zip archive"):
        load_dataset("omniglot", root=small_root)


def test_a_damaged_zip_member_is_named(tmp_path):
    path = write_zip(tmp_path / "images_background_small1.zip", "images_background_small1", members({"Greek": 1}))
    raw = bytearray(path.read_bytes())
    first = drawing("Greek/character01/0001_01.png")
    at = raw.find(first)
    raw[at + len(first) // 2] ^= 0xFF  # stored uncompressed: one flipped byte fails the CRC
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt zip member images_background_small1/Greek/character01/0001_01.png"):
        load_dataset("omniglot", root=tmp_path)


def test_an_unreadable_png_is_named(small_root):
    files = members({"Latin": 1})
    files["Latin/character01/0001_02.png"] = b"not a png"
    write_zip(small_root / "images_background_small2.zip", "images_background_small2", files)
    with pytest.raises(ValueError, match=r"small2\.zip:images_background_small2/Latin/character01/0001_02\.png: not a readable PNG"):
        load_dataset("omniglot", root=small_root)


class FakeOmniglot:
    """torchvision's ``Omniglot(root, background, download)``, writing its layout instead of fetching."""

    calls: list[bool] = []

    def __init__(self, root: str, background: bool = True, download: bool = False) -> None:
        FakeOmniglot.calls.append(background)
        part = "images_background" if background else "images_evaluation"
        write_folder(Path(root) / "omniglot-py" / part, members({"Greek" if background else "Korean": 2}))


def test_nothing_is_downloaded_unless_asked(tmp_path, small_root, monkeypatch):
    import torchvision.datasets

    FakeOmniglot.calls = []
    monkeypatch.setattr(torchvision.datasets, "Omniglot", FakeOmniglot)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_dataset("omniglot", root=empty)
    load_dataset("omniglot", root=small_root, download=True)  # already there: nothing fetched
    assert FakeOmniglot.calls == []
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    ds = load_dataset("omniglot", root=fetched, train=None, download=True)
    assert FakeOmniglot.calls == [True, False] and ds.class_groups == ["Greek", "Greek", "Korean", "Korean"]


def test_split_by_named_groups_gives_disjoint_renumbered_parts(small_root):
    ds = load_dataset("omniglot", root=small_root, train=None)
    source, target = split_by_group(ds, ("Greek", "Latin"))
    assert target.classes == UNION[2:] and source.classes == UNION[:2]
    assert set(target.class_groups) == {"Greek", "Latin"} and set(source.class_groups) == {"Balinese"}
    assert np.unique(target.targets).tolist() == [0, 1, 2, 3] and np.unique(source.targets).tolist() == [0, 1]
    assert not set(source.indices) & set(target.indices) and len(source) + len(target) == len(ds)
    # indices point into the full set: each item is the image and class it was there
    np.testing.assert_array_equal(target.data, ds.data[target.indices])
    assert [target.classes[t] for t in target.targets] == [ds.classes[t] for t in ds.targets[target.indices]]
    assert source.source == target.source == ds.source


def test_split_by_a_number_of_groups_draws_them_from_the_seed(small_root):
    ds = load_dataset("omniglot", root=small_root, train=None)
    draws = {tuple(split_by_group(ds, 2, seed=s)[1].class_groups) for s in range(10)}
    assert len(draws) > 1 and all(len(set(d)) == 2 for d in draws)  # two groups, not always the same
    assert split_by_group(ds, 1, seed=3)[1].classes == split_by_group(ds, 1, seed=3)[1].classes


def test_split_errors(small_root, digits):
    ds = load_dataset("omniglot", root=small_root, train=None)
    with pytest.raises(ValueError, match="no group 'Korean'; it has Balinese, Greek, Latin"):
        split_by_group(ds, ["Korean"])
    with pytest.raises(ValueError, match="cannot draw 3 target group"):
        split_by_group(ds, 3)
    with pytest.raises(ValueError, match="the source part 0; each part needs two classes or more"):
        split_by_group(ds, ["Balinese", "Greek", "Latin"])
    with pytest.raises(ValueError, match="the target part would hold 1 of its 6 classes"):
        split_classes(ds, "Greek/character01")
    with pytest.raises(ValueError, match="class_groups is None"):
        split_by_group(digits, 1)
    with pytest.raises(ValueError, match="no class 'Greek/character09'"):
        split_classes(ds, ["Greek/character09"])


def test_split_classes_by_name_or_index(digits):
    source, target = split_classes(digits, ["7", 9])
    assert target.classes == ["7", "9"] and len(source.classes) == 8 and source.class_groups is None
    assert np.bincount(target.targets).tolist() == [int((digits.targets == c).sum()) for c in (7, 9)]


def test_split_per_class_k_shots_and_a_test_set_fixed_across_k(small_root):
    ds = load_dataset("omniglot", root=small_root, train=None)
    train, rest = split_per_class(ds, 1)  # few_shot's draw: k per class and every other item
    assert np.bincount(train.targets).tolist() == [1] * 6 and len(rest) == len(ds) - 6
    one, test_a = split_per_class(ds, 1, n_test=2, seed=4)
    two, test_b = split_per_class(ds, 2, n_test=2, seed=4)
    np.testing.assert_array_equal(test_a.indices, test_b.indices)
    assert np.bincount(two.targets).tolist() == [2] * 6 and np.bincount(test_b.targets).tolist() == [2] * 6
    assert not set(two.indices) & set(test_b.indices) and not set(one.indices) & set(test_a.indices)
    with pytest.raises(ValueError, match="asked for 5 samples per class"):
        split_per_class(ds, 3, n_test=2)


REAL_ROOT = Path(os.environ.get("GANAUG_OMNIGLOT_ROOT", "/work/shared/data/omniglot"))


@pytest.mark.skipif(not REAL_ROOT.is_dir(), reason=f"no Omniglot zips at {REAL_ROOT} (set GANAUG_OMNIGLOT_ROOT)")
def test_the_real_small_background_sets():
    ds = load_dataset("omniglot", root=REAL_ROOT, train=None)
    assert len(ds.classes) == 242 and len(ds) == 4840 and len(set(ds.class_groups)) == 8
    assert np.bincount(ds.targets).tolist() == [20] * 242 and ds.image_shape == (28, 28)
    source, target = split_by_group(ds, ("Korean", "Tagalog"))
    assert len(source.classes) + len(target.classes) == 242 and set(target.class_groups) == {"Korean", "Tagalog"}
    train, test = split_per_class(target, 5, n_test=15, seed=0)
    assert len(train) == 5 * len(target.classes) and len(test) == 15 * len(target.classes)
