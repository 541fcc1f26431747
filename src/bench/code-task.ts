/** A problem graded by running its own tests on the answer's code (HumanEval's fields). */
export interface CodeTask {
  taskId: string;
  /** The function signature and docstring the model completes. */
  prompt: string;
  /** The function the tests call. */
  entryPoint: string;
  /** Python source defining `check(candidate)`, which asserts on the candidate's results. */
  test: string;
}
