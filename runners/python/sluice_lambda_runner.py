#!/usr/bin/python3
"""Runs an unchanged AWS Lambda Python handler as a Sluice function command.

    command = ["/usr/bin/python3", "/usr/lib/sluice/sluice_lambda_runner.py", "app.handler"]

sluiced writes one Lambda Kinesis event to stdin; this imports MODULE from the task
root (LAMBDA_TASK_ROOT in the function's environment, else --root, else the working
directory), calls FUNCTION(event, context) and writes what it returns as JSON to
stdout. What the handler prints goes to stderr, which sluiced logs tagged with the
function. An exception is written to stderr as Lambda's error JSON and exits 1: a
function error, retried by sluiced (FUNCTIONS.md).
"""

import argparse
import importlib
import json
import os
import sys
import time
import traceback


class LambdaContext:
    """The parts of Lambda's context object a handler uses."""

    def __init__(self):
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = "$LATEST"
        self.invoked_function_arn = env.get("SLUICE_FUNCTION_ARN", "")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = env.get("AWS_LAMBDA_REQUEST_ID", "")
        self.log_group_name = "/sluice/functions/" + self.function_name
        self.log_stream_name = "sluiced"
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(env.get("SLUICE_DEADLINE_MS", "0") or 0)

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("handler", help="MODULE.FUNCTION, as Lambda's handler setting")
    parser.add_argument("--root", help="directory that holds the module (default: LAMBDA_TASK_ROOT or the working directory)")
    args = parser.parse_args()
    module_name, _, function_name = args.handler.rpartition(".")
    if not module_name or not function_name:
        sys.stderr.write("handler must be MODULE.FUNCTION, e.g. app.handler\n")
        return 2
    root = os.environ.get("LAMBDA_TASK_ROOT") or args.root or os.getcwd()
    sys.path.insert(0, root)
    event = json.load(sys.stdin)
    answer_out = sys.stdout
    # print() in the handler goes to the log, as it goes to CloudWatch Logs in Lambda.
    sys.stdout = sys.stderr
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        result = handler(event, LambdaContext())
    except Exception as error:  # noqa: BLE001 - every failure is the function's error
        sys.stderr.write(json.dumps({
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_tb(error.__traceback__),
        }) + "\n")
        return 1
    finally:
        sys.stdout = answer_out
    if result is not None:
        json.dump(result, answer_out)
    answer_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
