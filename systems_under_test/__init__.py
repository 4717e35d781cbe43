"""Reference implementations of the protocols under test.

Everything in this package uses the Python standard library only: it runs inside a bare container
that carries Debian's python3 and nothing else. Protocol logic lives in sans-IO cores
(:mod:`systems_under_test.core`); the real host (:mod:`systems_under_test.runtime`) and the simulator
(``harness.backends.sim``) carry out the effects those cores return.
"""
