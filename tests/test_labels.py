"""Label sources: file-name regex, CSV keyed by file name, folder per label, merged in order."""

import pytest

from skellm.data.labels import load_labels
from skellm.readers.base import ReadError

REGEX = r"(?P<subject>S\d+)_(?P<action>[a-z]+(?:_[a-z]+)*)_(?P<emotion>[a-z]+)_T\d+"


def test_regex_and_csv_merge(tmp_path):
    files = [tmp_path / "S03_walk_with_object_joy_T012.bvh", tmp_path / "S11_knock_shame_T001.mvnx"]
    (tmp_path / "annotations.csv").write_text(
        "filename,intensity,description\nS03_walk_with_object_joy_T012.bvh,0.75,bouncy steps\n"
        "S11_knock_shame_T001,0.2,\n"
    )
    out = load_labels(
        files,
        tmp_path,
        [{"kind": "regex", "pattern": REGEX}, {"kind": "csv", "path": str(tmp_path / "annotations.csv")}],
    )
    assert out[files[0]] == {
        "subject": "S03",
        "action": "walk_with_object",
        "emotion": "joy",
        "intensity": 0.75,
        "description": "bouncy steps",
    }
    assert out[files[1]] == {"subject": "S11", "action": "knock", "emotion": "shame", "intensity": 0.2}


def test_kdae_file_info_with_renames_relative_to_corpus(tmp_path):
    (tmp_path / "file-info.csv").write_text(
        "filename,emotion,actor_ID\nF01A0V1,happiness,F01\nM02S1V2.bvh,sadness,M02\n"
    )
    files = [tmp_path / "F01A0V1.bvh", tmp_path / "M02S1V2.bvh", tmp_path / "X.bvh"]
    src = {"kind": "csv", "path": "file-info.csv", "columns": {"filename": "filename", "subject": "actor_ID"}}
    out = load_labels(files, tmp_path, [src])
    assert out[files[0]] == {"emotion": "happiness", "subject": "F01"}
    assert out[files[1]] == {"emotion": "sadness", "subject": "M02"}
    assert out[files[2]] == {}


def test_folder_label_and_override_order(tmp_path):
    f = tmp_path / "anger" / "p01_t1.txt"
    f.parent.mkdir()
    (tmp_path / "fix.csv").write_text("filename,emotion\np01_t1.txt,disgust\n")
    out = load_labels([f], tmp_path, [{"kind": "folder", "field": "emotion"}])
    assert out[f] == {"emotion": "anger"}
    out = load_labels(
        [f], tmp_path, [{"kind": "folder", "field": "emotion"}, {"kind": "csv", "path": "fix.csv"}]
    )
    assert out[f] == {"emotion": "disgust"}


@pytest.mark.parametrize(
    "text, reason",
    [
        ("name,emotion\na,joy\n", "no 'filename' column"),
        ("filename,emotion\na,joy,extra\n", "row 2 has 3 fields"),
        ("filename,emotion\na,joy\na.bvh,fear\n", "listed twice"),
        ("filename,intensity\na,high\n", "not a number"),
        ("", "empty"),
    ],
)
def test_bad_csv_one_line_error(tmp_path, text, reason):
    (tmp_path / "l.csv").write_text(text)
    with pytest.raises(ReadError, match=reason) as err:
        load_labels([tmp_path / "a.bvh"], tmp_path, [{"kind": "csv", "path": "l.csv"}])
    assert "l.csv" in str(err.value) and "\n" not in str(err.value)


def test_missing_csv_and_unknown_kind(tmp_path):
    with pytest.raises(ReadError, match="not found"):
        load_labels([], tmp_path, [{"kind": "csv", "path": "nope.csv"}])
    assert load_labels([], tmp_path, [{"kind": "csv", "path": "nope.csv", "optional": True}]) == {}
    with pytest.raises(ReadError, match="unknown label source kind"):
        load_labels([], tmp_path, [{"kind": "xml"}])
