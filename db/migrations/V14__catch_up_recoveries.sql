-- Catch-up of a returning member (decision 012): a recovery whose member comes back on its own
-- node, so the node it "replaces" is itself. The row says so in catch_up, and the two node ids are
-- equal exactly then.
ALTER TABLE recovery DROP CONSTRAINT recovery_check;
ALTER TABLE recovery ADD COLUMN catch_up BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE recovery ADD CONSTRAINT recovery_catch_up_same_node CHECK (catch_up = (new_node_id = old_node_id));
