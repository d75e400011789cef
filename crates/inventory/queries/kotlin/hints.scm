(import (qualified_identifier) @import)
(call_expression
  (navigation_expression
    (identifier) @call.recv
    (identifier) @call.name))
