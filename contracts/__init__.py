"""Contract testing for the request-workflow APIs: fuzzing, lifecycle conformance and fixture generation."""
