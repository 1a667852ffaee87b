"""The fault suite (``./ops/faults``): a private stack, a steady stream of events, faults, and the checks after each.

* ``stapel``: the private Kafka + PostgreSQL (its own PRAKTIJK_CACHE_DIR) and their stop/kill/restart;
* ``supervisor``: runs validator, projector, reconciler and API and restarts whichever exits;
* ``stroom``: the publisher at a steady rate (valid events only, so nothing is refused);
* ``logboek``: reads the canonical log, rejections and dead letters incrementally;
* ``controle``: drained? exactly once? read models equal to a clean replay?;
* ``api_last``: clients asking the API for a total while it is killed;
* ``gif``: poison records for the ingress topics;
* ``suite``: the faults in order and the table.
"""
