# The libFuzzer targets: one per parser. Shared by the fuzz build (which compiles them) and the
# test build (which runs them from the fuzz tree).
set(AISLE_FUZZ_TARGETS
  schema_fuzz        # event JSON parse + schema validation; schema compilation of hostile input
)
