"""A compiled library's panic (tokenizers' ``pyo3_runtime.PanicException``, a BaseException) is one error line on
the command line and an error box on a page: a probe's checkpoint whose tokenizer normalizer held a runaway regex
printed a traceback from `predict` and stopped the Predict page's script with nothing said."""

from __future__ import annotations

import argparse

from streamlit.testing.v1 import AppTest


def _panic() -> None:
    from tokenizers import Regex, Tokenizer, normalizers
    from tokenizers.models import WordLevel

    tokenizer = Tokenizer(WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Replace(Regex("(a|aa)+$"), "x")  # backtracks past the regex engine's limit
    tokenizer.encode("a" * 40 + "!")


def test_a_library_panic_is_one_error_line_and_exit_2(monkeypatch, capsys):
    from receipt_core.cli import main as cli_main
    from receipt_core.errors import is_library_panic

    try:
        _panic()
    except BaseException as error:  # noqa: BLE001 - what the tokenizer raises
        assert is_library_panic(error) and not isinstance(error, Exception)

    def parser() -> argparse.ArgumentParser:
        built = argparse.ArgumentParser()
        built.set_defaults(handler=lambda args: _panic())
        return built

    monkeypatch.setattr(cli_main, "build_parser", parser)
    assert cli_main.main([]) == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last == ("error: a compiled library (such as the model's tokenizer) failed on this input: Onig: Regex "
                    "search error: retry-limit-in-match over")
    assert "Traceback" not in err


def _page() -> None:
    import streamlit as st

    from tests.test_library_panic import _panic
    from ui.shared import user_errors

    with user_errors("Prediction"):
        _panic()
    st.write("the page goes on")


def test_a_library_panic_on_a_page_is_an_error_box_and_the_page_goes_on():
    at = AppTest.from_function(_page, default_timeout=60).run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error.startswith("Prediction failed: ") and "Onig: Regex search error: retry-limit-in-match over" in error
    assert any(m.value == "the page goes on" for m in at.markdown)
