import ast
import hashlib
import json
import os
from pathlib import Path

from labeldistill.config import fingerprint
from labeldistill.config.fingerprint import code_fingerprint, module_closure

SRC = Path(__file__).resolve().parents[3] / "src"


def write_package(root: Path) -> None:
    package = root / "labeldistill"
    (package / "stages").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "stages" / "__init__.py").write_text("")
    (package / "stages" / "a.py").write_text(
        "from labeldistill import helpers\nfrom ..deep import thing\ndef f():\n    import labeldistill.lazy\n"
    )
    (package / "helpers.py").write_text("X = 1\n")
    (package / "deep.py").write_text("thing = 2\n")
    (package / "lazy.py").write_text("Y = 1\n")
    (package / "unrelated.py").write_text("Z = 1\n")


def test_closure_follows_absolute_relative_and_lazy_imports(tmp_path):
    write_package(tmp_path)
    names = set(module_closure(tmp_path, "labeldistill.stages.a"))
    assert names == {
        "labeldistill",
        "labeldistill.stages",
        "labeldistill.stages.a",
        "labeldistill.helpers",
        "labeldistill.deep",
        "labeldistill.lazy",
    }


def test_fingerprint_changes_only_with_imported_code(tmp_path):
    write_package(tmp_path)
    before = code_fingerprint(tmp_path, "labeldistill.stages.a")
    (tmp_path / "labeldistill" / "unrelated.py").write_text("Z = 2\n")
    assert code_fingerprint(tmp_path, "labeldistill.stages.a") == before
    (tmp_path / "labeldistill" / "lazy.py").write_text("Y = 2\n")
    assert code_fingerprint(tmp_path, "labeldistill.stages.a") != before


def test_real_stages_reach_their_logic():
    assert "labeldistill.tasks.splits" in module_closure(SRC, "labeldistill.stages.split")
    annotate = module_closure(SRC, "labeldistill.stages.annotate")
    assert "labeldistill.contracts" in annotate and "labeldistill.tasks.splits" not in annotate


def expected_fingerprint(root: Path, names: list[str]) -> str:
    """The fingerprint's formula spelled out: every module's name and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(names):
        base = root.joinpath(*name.split("."))
        path = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        digest.update(name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def count_parses(monkeypatch) -> list[str]:
    """ast.parse calls of the fingerprint module from here on, as a fresh process would make."""
    fingerprint._imports_in_source.cache_clear()
    calls = []
    real = ast.parse

    def parse(source, filename="<unknown>", *args, **kwargs):
        calls.append(filename)
        return real(source, filename, *args, **kwargs)

    monkeypatch.setattr(fingerprint.ast, "parse", parse)
    return calls


def test_cached_fingerprint_is_the_content_hash(tmp_path):
    write_package(tmp_path / "src")
    cache_file = tmp_path / ".snakemake" / "fingerprints.json"
    names = list(module_closure(tmp_path / "src", "labeldistill.stages.a"))
    value = code_fingerprint(tmp_path / "src", "labeldistill.stages.a", cache_file=cache_file)
    assert value == expected_fingerprint(tmp_path / "src", names)
    assert value == code_fingerprint(tmp_path / "src", "labeldistill.stages.a")
    assert cache_file.is_file()


def test_untouched_tree_is_served_from_the_cache(tmp_path, monkeypatch):
    src, cache_file = tmp_path / "src", tmp_path / "fingerprints.json"
    write_package(src)
    calls = count_parses(monkeypatch)
    before = code_fingerprint(src, "labeldistill.stages.a", cache_file=cache_file)
    assert len(calls) == 6  # a.py, helpers, deep, lazy and the two __init__.py
    calls = count_parses(monkeypatch)  # the next parse of the workflow
    assert code_fingerprint(src, "labeldistill.stages.a", cache_file=cache_file) == before
    assert calls == []


def test_edited_file_changes_the_fingerprint_and_is_parsed_again(tmp_path, monkeypatch):
    src, cache_file = tmp_path / "src", tmp_path / "fingerprints.json"
    write_package(src)
    before = code_fingerprint(src, "labeldistill.stages.a", cache_file=cache_file)
    a = src / "labeldistill" / "stages" / "a.py"
    stat = a.stat()
    a.write_text(a.read_text() + "import labeldistill.unrelated\n")
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    calls = count_parses(monkeypatch)
    after = code_fingerprint(src, "labeldistill.stages.a", cache_file=cache_file)
    assert after != before
    # the edited file, and the one it now imports, parsed for the first time; nothing else
    assert sorted(calls) == [str(a), str(src / "labeldistill" / "unrelated.py")]
    (src / "labeldistill" / "unrelated.py").write_text("Z = 2\n")
    assert code_fingerprint(src, "labeldistill.stages.a", cache_file=cache_file) != after


def test_unreadable_or_foreign_cache_is_rebuilt(tmp_path, monkeypatch):
    src, cache_file = tmp_path / "src", tmp_path / "fingerprints.json"
    write_package(src)
    expected = code_fingerprint(src, "labeldistill.stages.a")
    for junk in ("{not json", json.dumps({"version": -1, "imports": {}}), json.dumps([1, 2])):
        cache_file.write_text(junk)
        assert code_fingerprint(src, "labeldistill.stages.a", cache_file=cache_file) == expected
    # an entry that is not a list of names is parsed again, not trusted
    record = json.loads(cache_file.read_text())
    record["imports"] = {key: "labeldistill" for key in record["imports"]}
    cache_file.write_text(json.dumps(record))
    calls = count_parses(monkeypatch)
    assert code_fingerprint(src, "labeldistill.stages.a", cache_file=cache_file) == expected
    assert len(calls) == 6
    calls = count_parses(monkeypatch)  # and mended in the file
    assert code_fingerprint(src, "labeldistill.stages.a", cache_file=cache_file) == expected
    assert calls == []


def test_real_stages_fingerprint_the_same_with_the_cache(tmp_path):
    for stage in ("labeldistill.stages.train", "labeldistill.stages.annotate"):
        assert code_fingerprint(SRC, stage, cache_file=tmp_path / "c.json") == code_fingerprint(SRC, stage)
