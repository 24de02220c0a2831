"""Which schemathesis failures `eval.fuzz` sets aside as the fuzzer's own: only a negative case
whose every violation is the type of a multipart field (a form field is text)."""

from eval.fuzz import _typed_in_multipart

NULL_CASE = """
1. Test Case ID: Y6qqD1
- ST201 Schema-violating request accepted
    Invalid component: in body
      - violates `type` at /properties/doc_id (was string, became null)
[200] OK:
Reproduce with:
    curl -X POST -H 'Content-Type: multipart/form-data; boundary=x' -d 'null' http://h/documents
    st replay Y6qqD1
"""
JSON_CASE = NULL_CASE.replace("Y6qqD1", "AAAAAA").replace("multipart/form-data", "application/json")
INT_CASE = NULL_CASE.replace("Y6qqD1", "BBBBBB").replace("became null", "became integer")
LENGTH_CASE = NULL_CASE.replace("Y6qqD1", "CCCCCC").replace(
    "violates `type` at /properties/doc_id (was string, became null)",
    "violates `maxLength` at /properties/doc_id",
)


def test_typed_in_multipart__sets_aside_only_type_changes_in_forms() -> None:
    log = NULL_CASE + JSON_CASE + INT_CASE + LENGTH_CASE
    assert _typed_in_multipart(log) == ["Y6qqD1", "BBBBBB"]
