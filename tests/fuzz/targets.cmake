# The libFuzzer targets: one per parser family. Shared by the fuzz build (which compiles them) and
# the test build (which runs each briefly as a test).
set(AISLE_FUZZ_TARGETS
  schema_fuzz   # schema compilation of hostile input; validation fast path vs error path
  ingest_fuzz   # body framing, bounded JSON parse, envelope decode, registry validation
  wire_fuzz     # MQTT batch payloads (header, zstd, records), acks, topics
  decoders_fuzz # device decoders (POS, BLE, people counter, RFID, weight): frames and ticks
  audit_fuzz    # audit log lines and hash chains (aislectl audit verify, the collector at start)
  privacy_fuzz  # the agent's e-mail and phone normalizers and client IP truncation
  segments_fuzz # segment definitions: schema, condition tree, window features on one event
)
