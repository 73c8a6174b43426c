"""Values shared by the test suites (imported by tests, never by the application)."""

# The password of the users the test fixtures create.
TEST_PASSWORD = "correct-horse-battery"
