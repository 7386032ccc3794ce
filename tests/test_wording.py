from receipt_core.wording import counted


def test_a_count_agrees_with_its_noun():
    assert [counted(n, "receipt") for n in (0, 1, 2)] == ["0 receipts", "1 receipt", "2 receipts"]
    assert counted(1, "evaluation receipt") == "1 evaluation receipt"
    assert counted(3, "index", "indices") == "3 indices"
