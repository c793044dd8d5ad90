"""The shared app's password, sign-in tokens and the brake on guessing, as specifications."""

from __future__ import annotations

from bulk_transcribe.web.access import (
    AttemptThrottle,
    SignInTokens,
    hash_password,
    new_signing_key,
    password_matches,
)


def test_the_password_is_kept_only_as_a_salted_hash_that_checks_it() -> None:
    stored = hash_password("correct horse")
    assert "correct horse" not in stored
    assert password_matches(stored, "correct horse")
    assert not password_matches(stored, "correct hors")
    assert not password_matches(stored, "")
    assert hash_password("correct horse") != stored  # a fresh salt each time


def test_a_malformed_stored_hash_lets_nobody_in() -> None:
    assert not password_matches("", "anything")
    assert not password_matches("plain$text", "plain")
    assert not password_matches("md5$1$1$1$zz$zz", "x")


def test_a_token_is_valid_only_unaltered_with_its_own_key_and_before_it_expires() -> None:
    key = new_signing_key()
    token = SignInTokens(key).issue()
    assert SignInTokens(key).valid(token)
    assert not SignInTokens(key).valid(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    assert not SignInTokens(new_signing_key()).valid(token)  # another server start's key
    assert not SignInTokens(key, max_age=-1).valid(token)  # expired
    assert not SignInTokens(key).valid(None)
    assert not SignInTokens(key).valid("")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_after_a_few_wrong_passwords_each_next_attempt_waits_longer_without_sleeping() -> None:
    clock = Clock()
    throttle = AttemptThrottle(free_failures=3, max_wait=60, clock=clock)
    for _ in range(3):
        assert throttle.wait_left("10.0.0.5") == 0
        throttle.failed("10.0.0.5")
    assert throttle.wait_left("10.0.0.5") == 2
    clock.now += 2
    assert throttle.wait_left("10.0.0.5") == 0
    throttle.failed("10.0.0.5")
    assert throttle.wait_left("10.0.0.5") == 4
    for _ in range(10):
        throttle.failed("10.0.0.5")
    assert throttle.wait_left("10.0.0.5") == 60  # capped


def test_one_guessing_client_never_slows_another_and_a_success_clears_its_count() -> None:
    clock = Clock()
    throttle = AttemptThrottle(free_failures=1, clock=clock)
    throttle.failed("guesser")
    throttle.failed("guesser")
    assert throttle.wait_left("guesser") > 0
    assert throttle.wait_left("colleague") == 0
    throttle.succeeded("guesser")
    assert throttle.wait_left("guesser") == 0


def test_failures_are_forgotten_after_a_while_and_the_table_stays_bounded() -> None:
    clock = Clock()
    throttle = AttemptThrottle(free_failures=1, forget_after=600, max_clients=2, clock=clock)
    throttle.failed("a")
    throttle.failed("a")
    clock.now += 601
    assert throttle.wait_left("a") == 0
    for client in ("b", "c", "d"):
        throttle.failed(client)
        throttle.failed(client)
    assert throttle.wait_left("b") == 0  # dropped: only the two latest are kept
    assert throttle.wait_left("d") > 0
