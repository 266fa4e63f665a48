// The bridge between PostgreSQL errors (ereport/longjmp) and C++ exceptions.
//
// - SPAWN_FUNCTION declares a SQL-callable function whose body runs inside RunGuarded: any
//   C++ exception is caught, its message (SQLSTATE, detail and hint for a SpawnError) copied,
//   and raised as a PostgreSQL error only after the catch block has closed. RunGuarded also
//   restores PG_exception_stack and error_context_stack as they were at the door, in case an
//   exception unwound through a PG_TRY. Worker transactions run their bodies through it too.
// - PgCall runs PostgreSQL code from a frame that holds live C++ objects (std::string, ...):
//   an ereport inside becomes a PgException, which RunGuarded re-raises with its original
//   SQLSTATE, detail and hint (ReThrowError).
// Frames without RAII objects call PostgreSQL directly: a longjmp then skips no destructor.
#pragma once

#include <exception>

#include "src/pg.hpp"

namespace spawn {

// A PostgreSQL error caught by PgCall, carried through C++ frames.
class PgException : public std::exception {
 public:
  // Takes ownership of an ErrorData copied out of the error context.
  explicit PgException(ErrorData *edata) : edata_(edata) {}
  // The message of the PostgreSQL error.
  const char *what() const noexcept override { return edata_->message; }
  // The copied error, re-raised by RunGuarded.
  ErrorData *edata() const noexcept { return edata_; }

 private:
  ErrorData *edata_;
};

// Runs fn(arg); a C++ exception escaping it becomes a PostgreSQL ERROR.
void RunGuarded(void (*fn)(void *), void *arg);

// Calls a SQL-callable body under RunGuarded and returns its result.
Datum CallGuarded(Datum (*body)(FunctionCallInfo), FunctionCallInfo fcinfo);

// Runs PostgreSQL code; an error it raises is rethrown as PgException. `fn` must not throw.
template <typename Fn>
void PgCall(Fn &&fn) {
  MemoryContext caller_context = CurrentMemoryContext;
  ErrorData *volatile caught = nullptr;
  PG_TRY();
  { fn(); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(caller_context);
    caught = CopyErrorData();
    FlushErrorState();
  }
  PG_END_TRY();
  if (caught != nullptr) throw PgException(caught);
}

}  // namespace spawn

// Declares the SQL-callable function `name` whose body is written after the macro.
#define SPAWN_FUNCTION(name)                                   \
  static Datum name##_body([[maybe_unused]] PG_FUNCTION_ARGS); \
  extern "C" {                                                 \
  PG_FUNCTION_INFO_V1(name);                                   \
  Datum name(PG_FUNCTION_ARGS) {                               \
    return spawn::CallGuarded(name##_body, fcinfo);            \
  }                                                            \
  }                                                            \
  static Datum name##_body([[maybe_unused]] PG_FUNCTION_ARGS)
