(using_directive (identifier) @import)
(using_directive (qualified_name) @import)
(invocation_expression
  function: (member_access_expression
    expression: (identifier) @call.recv
    name: (identifier) @call.name))
