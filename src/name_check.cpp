// The rule itself lives in names.cpp (pure C++, unit-tested); this file turns it into errors.
#include "src/name_check.hpp"

#include "src/core/names.hpp"
#include "src/pg.hpp"

namespace spawn {

// Reports the broken rule with the name's kind.
void RequireName(const char *what, const char *name, std::size_t length) {
  const char *problem = NameProblem(name, length);
  if (problem == nullptr) return;
  ereport(ERROR, (errcode(ERRCODE_INVALID_NAME), errmsg("invalid %s name", what),
                  errdetail("The %s name %s.", what, problem), errhint("%s", kNameRuleHint)));
}

}  // namespace spawn
