"""A legacy Function whose result depends on hidden global state (a call counter in a module
outside the package): its migration cannot be shown equivalent."""
import torch
from torch.autograd import Function

import stateful_counter as counter

from . import factor


class CountedScale(Function):
    def forward(self, x):
        counter.calls += 1
        self.k = counter.calls
        return x * self.k

    def backward(self, grad_output):
        return grad_output * self.k


class PlainDouble(Function):
    def forward(self, x):
        return x * factor.TWO

    def backward(self, grad_output):
        return grad_output * factor.TWO
