"""The operation catalogue, its result models, and the generic path that runs any operation."""

from github_packages_mcp.tools.catalogue import OPERATIONS, Operation, operation
from github_packages_mcp.tools.execute import InvalidArguments, describe_deletion, execute

__all__ = ["OPERATIONS", "InvalidArguments", "Operation", "describe_deletion", "execute", "operation"]
