; JUnit 4, JUnit 5 and TestNG: classes are suites (nested classes nest), methods are test
; candidates whose annotations (@attr, one match per annotation, merged by node) decide.

(class_declaration name: (identifier) @name) @suite
(class_declaration
  (modifiers [(marker_annotation) (annotation)] @attr)
  name: (identifier) @name) @suite

(method_declaration
  (modifiers [(marker_annotation) (annotation)] @attr)
  name: (identifier) @name) @test.candidate

; TestNG: `@Test` on a class makes each of its public methods a test (configuration and
; data-provider methods are taken out by a rule). The class annotation is the method's
; @attr, so `@Test(enabled = false)` or a `dataProvider` on the class reach the methods.
(class_declaration
  (modifiers (_) @attr)
  body: (class_body
    (method_declaration
      (modifiers "public")
      name: (identifier) @name) @test.candidate)
  (#match? @attr "^@(org\\.testng\\.annotations\\.)?Test\\b"))
