"""Machine-wide turns: one holder at a time across processes; the others wait or are refused at once."""
import threading

import pytest

from waken.admission import MachineTurn


class Refused(Exception):
    pass


def test_a_second_holder_is_refused_at_once_or_waits_for_the_turn(tmp_path):
    # Two turns on one file take turns as two worker processes do: each has its own descriptor.
    first, second = MachineTurn(str(tmp_path / "t.lock")), MachineTurn(str(tmp_path / "t.lock"))
    order = []

    def wait_for_the_turn():
        with second.turn():
            order.append("second")

    with first.turn():
        with pytest.raises(Refused), second.turn(refusal=Refused):
            pass
        waiter = threading.Thread(target=wait_for_the_turn)
        waiter.start()
        waiter.join(0.3)
        assert waiter.is_alive()       # still waiting while the first holds the turn
        order.append("first done")
    waiter.join(5)
    assert order == ["first done", "second"]


def test_without_its_file_threads_of_one_process_still_take_turns(tmp_path):
    # A read-only folder that lacks the file: the process's own lock still holds.
    turn = MachineTurn(str(tmp_path / "missing" / "t.lock"))
    with turn.turn():
        with pytest.raises(Refused), turn.turn(refusal=Refused):
            pass
    with turn.turn(refusal=Refused):
        pass
