"""Natural batching (as a database's group commit): while batch N commits, the loop keeps polling and adds what
arrives to batch N+1, until N has committed or N+1 is full. A live batch is then what arrived during the previous
commit, however long that took: under load the batches grow with the commit time (no fixed bound caps the
throughput), when quiet they stay small (no wait for records that do not come).

Polling once, right after N was handed to the writer, took only what had arrived by then: what came during N's
commit waited for N+1's commit as well before it was even read (two commits and more per record instead of one
or two).
"""

from __future__ import annotations

# while the previous batch commits, the loop waits this long for its end between polls (and polls once more when it
# ends): a poll for every few records that trickle in would cost a fetch round trip and a judging call each, CPU
# the commit's own threads need under load; what the consumer fetched meanwhile is taken by the next poll
WACHT_S = 0.02


def verder_bundelen(verzameld: int, grens: int, vorige_klaar: bool) -> bool:
    """Whether the loop polls again for the batch it is collecting: only while the previous batch is still
    committing (its end starts the next commit at once) and the batch holds fewer than ``grens`` records (the
    batch a poll would bring anyway: the throughput of a loop that is behind is what it was)."""
    return not vorige_klaar and verzameld < grens
