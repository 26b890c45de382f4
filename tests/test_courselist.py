from __future__ import annotations

import pytest

from pageviews.courselist import course_ref, courses_file, unique
from pageviews.errors import UsageError


def test_a_courses_file_takes_ids_sis_forms_and_comments() -> None:
    text = "# nightly\n1693\n\n  169   # Statistics I\nsis_course_id:WRIT-2001\n1693\n"
    assert courses_file(text, "c.txt") == ["1693", "169", "sis_course_id:WRIT-2001", "1693"]
    assert unique(courses_file(text, "c.txt")) == ("1693", "169", "sis_course_id:WRIT-2001")


@pytest.mark.parametrize("bad", ["16 93", "abc", "sis_course_id:", "-3", "sis_course_id:a b"])
def test_a_bad_line_names_the_file_and_line(bad: str) -> None:
    with pytest.raises(UsageError, match=r"c\.txt line 2: course"):
        courses_file(f"1693\n{bad}\n", "c.txt")
    with pytest.raises(UsageError, match="must be a numeric id or sis_course_id:<id>"):
        course_ref(bad)
