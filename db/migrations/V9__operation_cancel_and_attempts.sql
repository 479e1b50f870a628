-- Cancelling an operation needs no new state: a cancelled operation is failed, with error_code
-- 'CANCELLED' and an error that says a client cancelled it, so that clients which only know
-- running / succeeded / failed keep working, and a cancelled operation, like any failed one, is
-- never taken up again.
--
-- attempts counts the runs that were started: each time the leader takes an operation up it adds
-- one, and a run stopped by an orderly shutdown takes its one back. An operation whose runs keep
-- dying with the process (killed for memory, say) is failed once attempts passes a limit, instead
-- of being resumed at every start-up for ever.
ALTER TABLE operation ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE operation ADD CONSTRAINT operation_attempts_not_negative CHECK (attempts >= 0);
