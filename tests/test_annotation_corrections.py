"""Corrections of the OCR (text, delete, split, merge, add), item grouping and the least-sure words: the pure rules
on a document, and the workspace that stores them with an undo history."""

from __future__ import annotations

import pytest

from receipt_core.data.annotation import least_sure_words, new_group_id, set_group, AnnotationError
from receipt_core.data.corrections import CorrectionError, add_word, delete_word, edit_text, merge_with_next, split_word
from receipt_core.data.document import MAX_WORD_CHARS, Document, Word
from receipt_core.workspace.database import WorkspaceError
from receipt_core.workspace.store import Workspace


def _doc() -> Document:
    return Document(id="r1", width=400, height=200, words=(
        Word("ICE TEA", (10, 10, 110, 30), confidence=80.0, line_id=0, field="ITEM_NAME", group_id=0),
        Word("2x", (120, 10, 150, 30), confidence=40.0, line_id=0, is_quantity=True, quantity_value=2.0, group_id=0),
        Word("20.000", (300, 10, 380, 30), line_id=0),
        Word("TOTAL", (10, 60, 80, 80), line_id=1),
        Word("20.000", (300, 60, 380, 80), line_id=1, field="TOTAL")))


def test_text_edit_keeps_the_label_and_reads_a_quantity_again():
    fixed = edit_text(_doc(), 1, " 3 x ").document
    word = fixed.words[1]
    assert (word.text, word.is_quantity, word.quantity_value, word.group_id, word.confidence) == ("3 x", True, 3.0, 0,
                                                                                                   None)
    assert fixed.words[0] == _doc().words[0]
    with pytest.raises(CorrectionError, match="delete it"):
        edit_text(_doc(), 1, "   ")
    with pytest.raises(CorrectionError, match="no word 9"):
        edit_text(_doc(), 9, "x")
    # one limit for a person's text and an import's (a word an import accepts can be typed back as it was)
    assert edit_text(_doc(), 0, "x" * MAX_WORD_CHARS).document.words[0].text == "x" * MAX_WORD_CHARS
    with pytest.raises(CorrectionError, match=f"at most {MAX_WORD_CHARS}"):
        edit_text(_doc(), 0, "x" * (MAX_WORD_CHARS + 1))
    # tabs and newlines pasted become spaces inside one word, and the summary says how to make it several
    pasted = edit_text(_doc(), 3, "A\tB\nC  D\r\nE")
    assert pasted.document.words[3].text == "A B C D E"
    assert pasted.summary.endswith("; it holds spaces, so it stays one word: Split at spaces makes each part a word "
                                   "of its own")
    assert "holds spaces" not in edit_text(_doc(), 0, "ICE TEAS").summary  # it had them already


def test_split_divides_the_box_by_length_and_merge_unites_it():
    split = split_word(_doc(), 0).document
    assert [w.text for w in split.words[:2]] == ["ICE", "TEA"]
    assert split.words[0].box == (10, 10, 60, 30) and split.words[1].box == (60, 10, 110, 30)
    assert all(w.field == "ITEM_NAME" and w.group_id == 0 for w in split.words[:2]) and len(split.words) == 6
    with pytest.raises(CorrectionError, match="two parts"):
        split_word(_doc(), 1)

    merged = merge_with_next(split, 0).document
    assert merged.words[0].text == "ICE TEA" and merged.words[0].box == (10, 10, 110, 30)
    assert merged.words[0].field == "ITEM_NAME" and len(merged.words) == 5
    # the unlabelled TOTAL word takes the labelled amount's label when merged with it
    assert merge_with_next(_doc(), 3).document.words[3].field == "TOTAL"
    with pytest.raises(CorrectionError, match="last word"):
        merge_with_next(_doc(), 4)
    # a word ending its line does not merge with the next line's first word (a walkthrough's box over three rows)
    with pytest.raises(CorrectionError, match="'20.000' ends its line: the next word, #3 'TOTAL', is on the line "
                                              "below; only words of one line merge"):
        merge_with_next(_doc(), 2)
    # a walkthrough merged '100' and ',000' into '100 ,000': no space before closing punctuation
    pieces = Document(id="p", width=400, height=100, words=(Word(text="100", box=(10, 10, 40, 30)),
                                                            Word(text=",000", box=(40, 10, 80, 30))))
    assert merge_with_next(pieces, 0).document.words[0].text == "100,000"
    # nor inside a price the OCR split after its point (walkthrough 47 got '43. 99'); words stay apart
    from receipt_core.data.corrections import _joined

    assert [_joined(a, b) for a, b in (("43.", "99"), ("1,", "50"), ("TOTAL.", "99"), ("No.", "5"), ("x", "1"))] == [
        "43.99", "1,50", "TOTAL. 99", "No. 5", "x 1"]
    # two words that would be one over the word limit stay two: the merged word did not import back (a probe)
    long = Document(id="l", width=400, height=100, words=(Word(text="x" * 300, box=(10, 10, 40, 30)),
                                                          Word(text="y" * 300, box=(40, 10, 80, 30))))
    with pytest.raises(CorrectionError, match=f"601 characters, over the limit of {MAX_WORD_CHARS}"):
        merge_with_next(long, 0)


def test_an_added_word_joins_its_line_in_reading_order_and_stays_on_the_page():
    correction = add_word(_doc(), "Rp", (260, 12, 290, 28))
    added = correction.document
    assert correction.focus == 2  # the page selects the new word (it kept the index: the next word)
    assert added.words[2].text == "Rp" and added.words[2].line_id == 0 and not added.words[2].is_labelled
    assert correction.summary == "word 'Rp' added as word #2"
    cut = add_word(_doc(), "THANK YOU", (10, 150, 500, 170))
    below = cut.document
    assert below.words[-1].line_id == 2 and below.words[-1].box == (10, 150, 400, 170)  # clamped to the page
    # and said (probe 42's word was stored narrower than typed, unsaid)
    assert cut.summary.endswith(", its box cut to the page's edge (x 10–400, y 150–170)")
    assert "cut" not in add_word(_doc(), "Rp", (290, 28, 260, 12)).summary  # corners the other way round: no cut
    with pytest.raises(CorrectionError, match="covers no area"):
        add_word(_doc(), "x", (500, 500, 600, 600))
    assert [w.text for w in delete_word(_doc(), 2).document.words] == ["ICE TEA", "2x", "TOTAL", "20.000"]
    # drawn a little high over a row, under a tall junk word above it: the row's line, in its reading order (a
    # walkthrough's "Dal" went to the junk line, before the row's "1" and "Yellow")
    rows = Document(id="r", width=400, height=300, words=(
        Word(text="~~~", box=(0, 200, 60, 245), line_id=0),
        Word(text="1", box=(10, 232, 20, 240), line_id=1), Word(text="Yellow", box=(30, 232, 80, 240), line_id=1),
        Word(text="-60.00", box=(300, 232, 350, 240), line_id=1)))
    placed = add_word(rows, "Dal", (90, 230, 120, 241))
    assert [w.text for w in placed.document.words] == ["~~~", "1", "Yellow", "Dal", "-60.00"]
    assert placed.document.words[3].line_id == 1


def test_groups_and_the_least_sure_words():
    doc = set_group(_doc(), 2, new_group_id(_doc())).document
    assert doc.words[2].group_id == 1 and doc.words[2].label_source is None
    assert set_group(doc, 2, None).document.words[2].group_id is None
    with pytest.raises(AnnotationError, match="whole number"):
        set_group(doc, 2, -1)
    prediction = {"words": [{"text": "a", "field": "TOTAL", "field_score": 0.9},
                            {"text": "b", "field": "OTHER", "quantity": True, "field_score": 0.2},
                            {"text": "c", "field": "TAX", "field_score": 0.5}]}
    assert [(w.index, w.answer, w.score) for w in least_sure_words(prediction, 2)] == [(1, "QUANTITY", 0.2),
                                                                                        (2, "TAX", 0.5)]
    # the answer's own score (the quantity head's for a quantity), and a word a rule answered left out, as Predict
    # and the overlay leave it (walkthrough 25's table listed product codes a rule had settled, "ITEM_NAME 0.022")
    prediction["words"][1]["quantity_score"] = 0.95
    prediction["words"].append({"text": "517729", "field": "ITEM_NAME", "field_score": 0.02, "reconciled": True})
    assert [(w.index, w.score) for w in least_sure_words(prediction, 5)] == [(2, 0.5), (0, 0.9), (1, 0.95)]


def test_a_word_put_into_an_item_takes_along_its_lines_item_words_of_no_item():
    """An annotator grouped a five-word item one word at a time, three clicks each: putting FILETE into item 1 left
    PECHUGA and POLL of the same line out."""
    doc = Document(id="r2", width=400, height=200, words=(
        Word("FILETE", (10, 10, 60, 30), line_id=0, field="ITEM_NAME"),
        Word("PECHUGA", (70, 10, 130, 30), line_id=0, field="ITEM_NAME"),
        Word("0.657", (140, 10, 180, 30), line_id=0, is_quantity=True, quantity_value=0.657),
        Word("KILOS", (190, 10, 230, 30), line_id=0, field="OTHER", label_source="person"),
        Word("seen", (235, 10, 260, 30), line_id=0),  # nobody labelled it: left alone
        Word("4.14", (300, 10, 340, 30), line_id=0, field="ITEM_PRICE", group_id=7),  # in another item: stays there
        Word("TEA", (10, 60, 50, 80), line_id=1, field="ITEM_NAME")))  # another line
    result = set_group(doc, 0, 8)
    assert [w.group_id for w in result.document.words] == [8, 8, 8, None, None, 7, None]
    assert [c.index for c in result.changes] == [0, 1, 2]  # one change, one undo
    assert [w.group_id for w in set_group(result.document, 1, None).document.words] == [8, None, 8, None, None, 7,
                                                                                        None]  # out: alone


def test_the_workspace_stores_every_correction_and_undoes_it(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ws.save_documents("d", [_doc()])
    ws.edit_word_text("r1", 1, "3x")
    ws.split_word("r1", 0)
    ws.add_word("r1", "Rp", [260, 12, 290, 28])
    ws.set_group("r1", 4, 0)
    assert [w.text for w in ws.get_document("r1").words] == ["ICE", "TEA", "3x", "Rp", "20.000", "TOTAL", "20.000"]
    assert ws.get_document("r1").words[4].group_id == 0
    history = ws.history("r1")
    assert [h.kind for h in history] == ["group", "correct", "correct", "correct"]
    assert "split" in history[2].after["summary"]
    undone = ws.undo("r1")
    assert undone.kind == "group" and undone.describe() == (
        f"Undid the last item change, which was word #4 {ws.get_document('r1').words[4].text!r}; the receipt is as it "
        "was before it.")
    undone = ws.undo("r1")  # what was undone, not "the last correct (7 word(s))" (found in a walkthrough)
    assert undone.kind == "correct"
    assert undone.describe() == ("Undid the last correction, which was word 'Rp' added as word #3; the receipt is "
                                 "as it was before it.")
    # each undone correction shows the first word it changed back, as a label's undo does (walkthrough 57's undone
    # text fix left the selection where it was): the place of the word taken away, the word put back whole, ...
    assert undone.word_to_show(6) == 3
    undone = ws.undo("r1")
    assert undone.describe().startswith("Undid the last correction, which was ") and "split" in undone.summary
    assert [w.text for w in ws.get_document("r1").words] == ["ICE TEA", "3x", "20.000", "TOTAL", "20.000"]
    assert undone.word_to_show(5) == 0
    assert ws.undo("r1").word_to_show(5) == 1  # ... the word whose text came back
    assert ws.redo("r1").word_to_show(5) == 1 and ws.redo("r1").word_to_show(6) == 0  # and so does a redo
    ws.undo("r1")  # the split taken back again, for what follows
    ws.merge_with_next("r1", 3)
    ws.delete_word("r1", 0)
    # a change without history since the last correction: its undo is refused and changes nothing
    changed = ws.get_document("r1")
    ws.replace_document(changed.with_words(changed.words[1:]))
    with pytest.raises(WorkspaceError, match="changed since"):
        ws.undo("r1")
    with pytest.raises(WorkspaceError, match="no word 40"):
        ws.delete_word("r1", 40)


def test_corrections_keep_to_the_import_bounds_and_say_a_huge_box_briefly():
    """Found by a second probe: a split into 20,000 parts made a receipt no import would take, a NUL went into a
    word's text, and a box of 1e308 was said in a 1,312-character message."""
    from receipt_core.data.document import MAX_DOCUMENT_WORDS

    with pytest.raises(CorrectionError, match=f"over the {MAX_DOCUMENT_WORDS:,} a receipt may hold"):
        split_word(_doc(), 0, ["x"] * MAX_DOCUMENT_WORDS)
    with pytest.raises(CorrectionError, match="control character"):
        edit_text(_doc(), 0, "a\x00b")
    with pytest.raises(CorrectionError) as huge:
        add_word(_doc(), "x", (1e308, 1e308, 1e308, 1e308))
    assert "[1e+308, 1e+308, 1e+308, 1e+308] covers no area" in str(huge.value) and len(str(huge.value)) < 200


def test_a_merge_a_retype_or_a_split_says_what_it_changed_beyond_the_text():
    """A probe: merging "TEA" (ITEM_NAME, item 0) with "3.50" (ITEM_PRICE, item 5) dropped the price's label and
    item with only "merged" said; retyping a quantity "2x" (typed value 3) as "2x TEA" made it 2, unsaid; splitting
    that gave two quantity words, "TEA" worth 2; a NaN box failed as "not JSON compliant"."""
    import math

    from receipt_core.data.corrections import CorrectionError, add_word, edit_text, merge_with_next, split_word

    words = (Word(text="TEA", box=(10, 10, 40, 20), line_id=0, field="ITEM_NAME", group_id=0, label_source="person"),
             Word(text="3.50", box=(50, 10, 80, 20), line_id=0, field="ITEM_PRICE", group_id=5,
                  label_source="person"),
             Word(text="2x", box=(10, 30, 30, 40), line_id=1, is_quantity=True, quantity_value=3.0, group_id=0,
                  label_source="person"))
    doc = Document(id="r", width=100, height=100, words=words)
    assert merge_with_next(doc, 0).summary == (
        "words 0 'TEA' and 1 '3.50' merged; '3.50' lost its label ITEM_PRICE and its item: the merged word keeps "
        "ITEM_NAME and its item (Undo takes the merge back)")
    retyped = edit_text(doc, 2, "2x TEA")
    assert retyped.summary == ("word #2: text '2x' -> '2x TEA'; its quantity 3 -> 2, read from the new text; it holds "
                               "spaces, so it stays one word: Split at spaces makes each part a word of its own")
    split = split_word(retyped.document, 2)
    assert split.summary.endswith("; 'TEA', which prints no number, left without the quantity label")
    assert [(w.text, w.annotation_label, w.is_labelled) for w in split.document.words[2:]] == [
        ("2x", "QUANTITY", True), ("TEA", "OTHER", False)]
    with pytest.raises(CorrectionError, match="four finite numbers"):
        add_word(doc, "nan", [math.nan, 0, 10, 10])


def test_a_quantity_retyped_to_text_without_a_number_loses_the_quantity_label_and_says_so():
    """A probe retyped a quantity "1" as "TEA": it stayed a QUANTITY worth 1, unsaid (a split already dropped it)."""
    from receipt_core.data.corrections import edit_text

    doc = Document(id="r", width=100, height=100, words=(
        Word(text="1", box=(10, 10, 20, 20), is_quantity=True, quantity_value=1.0, group_id=3, label_source="person"),))
    changed = edit_text(doc, 0, "TEA")
    assert changed.summary == ("word #0: text '1' -> 'TEA'; 'TEA' prints no number, so it is left without the quantity "
                               "label")
    word = changed.document.words[0]
    assert (word.is_quantity, word.quantity_value, word.is_labelled, word.group_id) == (False, None, False, 3)


def test_a_word_whose_text_changes_loses_the_suggestion_of_its_old_text():
    """Walkthrough 53 edited "TABLE" to "TABLE 5" and split it: both parts kept "suggested OTHER · score 0.92", the
    model's label of "TABLE", for Accept all to take as the model's."""
    import dataclasses

    from receipt_core.data.document import Suggestion

    suggested = Suggestion(field="OTHER", is_quantity=False, quantity_value=None, run="r", score=0.92)
    doc = _doc().with_words([dataclasses.replace(w, suggestion=suggested) for w in _doc().words])
    edited = edit_text(doc, 3, "TOTAL 5").document
    assert edited.words[3].suggestion is None and edited.words[2].suggestion == suggested
    assert all(w.suggestion is None for w in split_word(edited, 3).document.words[3:5])
    assert merge_with_next(doc, 3).document.words[3].suggestion is None
    assert edit_text(doc, 3, " TOTAL ").document.words[3].suggestion == suggested  # the same text: still its own
