(import_spec path: (interpreted_string_literal) @import)
(call_expression
  function: (selector_expression
    operand: (identifier) @call.recv
    field: (field_identifier) @call.name))
