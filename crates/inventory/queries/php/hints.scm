(namespace_use_clause (qualified_name) @import)
(scoped_call_expression
  scope: (name) @call.recv
  name: (name) @call.name)
(member_call_expression
  object: (variable_name) @call.recv
  name: (name) @call.name)
