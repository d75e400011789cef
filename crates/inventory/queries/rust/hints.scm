(use_declaration argument: (_) @import)
(call_expression
  function: (scoped_identifier
    path: (identifier) @call.recv
    name: (identifier) @call.name))
(call_expression
  function: (field_expression
    value: (identifier) @call.recv
    field: (field_identifier) @call.name))
