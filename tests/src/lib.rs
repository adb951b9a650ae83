//! End-to-end and UI tests of odm live in `tests/`; this library is empty.
