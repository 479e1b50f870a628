-- Who holds a disk open for writing, and until when. A read-write attachment takes or renews its
-- holder's lease (until its tokens expire); DELETE .../attachment ends it. A revert is refused while
-- any lease is live: a client writing to the disk would go on writing on top of the snapshot's bytes.
CREATE TABLE write_lease (
    extern_id  TEXT        NOT NULL REFERENCES resource (extern_id) ON DELETE CASCADE,
    holder     TEXT        NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (extern_id, holder)
);
