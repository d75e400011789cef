(preproc_include path: (_) @import)
(call_expression
  function: (qualified_identifier
    scope: (namespace_identifier) @call.recv
    name: (identifier) @call.name))
(call_expression
  function: (field_expression
    argument: (identifier) @call.recv
    field: (field_identifier) @call.name))
