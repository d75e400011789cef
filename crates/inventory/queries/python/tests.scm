; pytest and unittest: test functions at module level, test methods in test classes
; (named Test* for pytest, or inheriting a *TestCase for unittest). Decorators are
; captured as @attr and read by the framework's attribute rules (skip, xfail, parametrize).

; def test_x(): ... at module level (decorators are siblings inside decorated_definition)
(module
  (function_definition name: (identifier) @name (#match? @name "^test")) @test)
(module
  (decorated_definition
    (decorator)* @attr
    definition: (function_definition name: (identifier) @name (#match? @name "^test")) @test))

; class TestX: ... / class X(unittest.TestCase): ... ; decorated classes merge with these
; (same node); a class without test methods is pruned.
(class_definition name: (identifier) @name (#match? @name "^Test")) @suite
(class_definition
  name: (identifier) @name
  superclasses: (argument_list) @_bases (#match? @_bases "TestCase")) @suite
(decorated_definition
  (decorator)* @attr
  definition: (class_definition name: (identifier) @name) @suite)

; Methods: only inside test classes.
(class_definition
  name: (identifier) @_cls (#match? @_cls "^Test")
  body: (block
    (function_definition name: (identifier) @name (#match? @name "^test")) @test))
(class_definition
  name: (identifier) @_cls (#match? @_cls "^Test")
  body: (block
    (decorated_definition
      (decorator)* @attr
      definition: (function_definition name: (identifier) @name (#match? @name "^test")) @test)))
(class_definition
  superclasses: (argument_list) @_bases (#match? @_bases "TestCase")
  body: (block
    (function_definition name: (identifier) @name (#match? @name "^test")) @test))
(class_definition
  superclasses: (argument_list) @_bases (#match? @_bases "TestCase")
  body: (block
    (decorated_definition
      (decorator)* @attr
      definition: (function_definition name: (identifier) @name (#match? @name "^test")) @test)))

; Runtime status calls inside a test: pytest.skip/xfail, unittest's self.skipTest.
(call
  function: (attribute
    object: (identifier) @_mod
    attribute: (identifier) @_fn)
  (#eq? @_mod "pytest")
  (#eq? @_fn "skip")) @annotation.skip
(call
  function: (attribute
    object: (identifier) @_mod
    attribute: (identifier) @_fn)
  (#eq? @_mod "pytest")
  (#eq? @_fn "xfail")) @annotation.xfail
(call
  function: (attribute
    object: (identifier) @_self
    attribute: (identifier) @_fn)
  (#eq? @_self "self")
  (#eq? @_fn "skipTest")) @annotation.skip
