"""File names made from item ids stay inside their folder and never collide."""

from workbench.io.file_names import item_file_name


def test_item_file_names_are_safe_and_unique():
    used: set = set()
    assert item_file_name("../../etc/passwd", used) == "_.._etc_passwd"
    assert item_file_name("..", used) == "item"
    assert item_file_name("a b", used) == "a_b"
    assert item_file_name("a/b", used) == "a_b_2"  # same safe name as "a b"
    assert item_file_name("x" * 300, used, max_len=100) == "x" * 100
    assert len(used) == 5
