// The door guard: catch blocks only copy text into fixed buffers; the PostgreSQL error is
// raised after they close, so no exception object is alive when ereport longjmps.
//
// A C++ exception must never unwind through a PG_TRY (the macros keep the enclosing
// sigjmp_buf in PG_exception_stack and restore it only when the block ends normally or
// through longjmp). Should one do so anyway, PG_exception_stack would point into a dead
// frame and the next ereport would jump there; the guard therefore records
// PG_exception_stack and error_context_stack at the door and puts them back, as pg_duckdb does.
#include "src/guard.hpp"

#include <cstring>
#include <new>

#include "src/core/errors.hpp"

namespace spawn {

namespace {

// Text of a C++ exception, copied out of the catch block.
struct CaughtText {
  char sqlstate[6] = "XX000";
  char message[1024] = "";
  char detail[1024] = "";
  char hint[512] = "";
};

// Copies at most size-1 bytes and terminates.
void CopyText(char *to, std::size_t size, const char *from) {
  std::size_t length = std::strlen(from);
  if (length >= size) length = size - 1;
  std::memcpy(to, from, length);
  to[length] = '\0';
}

// Body and result of a guarded SQL-callable function.
struct GuardedCallFrame {
  Datum (*body)(FunctionCallInfo);
  FunctionCallInfo fcinfo;
  Datum result;
};

// Adapts a SQL-callable body to RunGuarded's callback shape.
void RunBody(void *arg) {
  auto *frame = static_cast<GuardedCallFrame *>(arg);
  frame->result = frame->body(frame->fcinfo);
}

}  // namespace

// Runs fn and converts escaping exceptions into PostgreSQL errors.
void RunGuarded(void (*fn)(void *), void *arg) {
  MemoryContext entry_context = CurrentMemoryContext;
  sigjmp_buf *entry_exception_stack = PG_exception_stack;
  ErrorContextCallback *entry_context_stack = error_context_stack;
  ErrorData *pg_error = nullptr;
  CaughtText text;
  bool failed = true;
  try {
    fn(arg);
    failed = false;
  } catch (const PgException &e) {
    pg_error = e.edata();
  } catch (const SpawnError &e) {
    CopyText(text.sqlstate, sizeof text.sqlstate, e.sqlstate());
    CopyText(text.message, sizeof text.message, e.what());
    CopyText(text.detail, sizeof text.detail, e.detail().c_str());
    CopyText(text.hint, sizeof text.hint, e.hint().c_str());
  } catch (const std::bad_alloc &) {
    CopyText(text.sqlstate, sizeof text.sqlstate, sqlstate::kOutOfMemory);
    CopyText(text.message, sizeof text.message, "out of memory");
  } catch (const std::exception &e) {
    CopyText(text.message, sizeof text.message, e.what());
  } catch (...) {
    CopyText(text.message, sizeof text.message, "unknown C++ exception");
  }
  if (!failed) return;
  // Normally unchanged; after an exception that unwound through a PG_TRY, the only safe values.
  PG_exception_stack = entry_exception_stack;
  error_context_stack = entry_context_stack;
  MemoryContextSwitchTo(entry_context);
  if (pg_error != nullptr) ReThrowError(pg_error);
  ereport(ERROR, (errcode(MAKE_SQLSTATE(text.sqlstate[0], text.sqlstate[1], text.sqlstate[2],
                                        text.sqlstate[3], text.sqlstate[4])),
                  errmsg_internal("%s", text.message),
                  text.detail[0] ? errdetail_internal("%s", text.detail) : 0,
                  text.hint[0] ? errhint("%s", text.hint) : 0));
}

// Runs a SQL-callable body under the guard.
Datum CallGuarded(Datum (*body)(FunctionCallInfo), FunctionCallInfo fcinfo) {
  GuardedCallFrame frame{body, fcinfo, static_cast<Datum>(0)};
  RunGuarded(RunBody, &frame);
  return frame.result;
}

}  // namespace spawn
