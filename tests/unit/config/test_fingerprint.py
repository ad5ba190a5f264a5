from pathlib import Path

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
