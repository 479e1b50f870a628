-- Labels: a small string map on images, disks and snapshots, set on create and by PATCH, and
-- filtered on by the listings (label=key=value, all of them: labels @> the pairs asked for). The GIN
-- index (jsonb_path_ops: containment only, and smaller) keeps a filter for a rare label fast however
-- many resources there are; a bulk clone waiting for its image keeps the labels its disks will get.
ALTER TABLE resource ADD COLUMN labels JSONB NOT NULL DEFAULT '{}';
CREATE INDEX resource_labels_idx ON resource USING GIN (labels jsonb_path_ops);
ALTER TABLE clone_request ADD COLUMN labels JSONB NOT NULL DEFAULT '{}';
