"""Training loops with one known mistake each, run on the trusted side to name a student's mistake.

Not part of a released bundle (each is one line away from the solution): the public checks
get their effect through ``hw5_support.weights_after_known_mistakes``, recorded at release.
The order matches ``hw5_support.KNOWN_LOOP_MISTAKES``.
"""


def _loop_without_zero_grad(model, loader, loss_fn, optimizer):
    model.train()
    for inputs, targets in loader:
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()


def _loop_step_before_backward(model, loader, loss_fn, optimizer):
    model.train()
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        optimizer.step()
        loss.backward()


def _loop_zero_grad_after_backward(model, loader, loss_fn, optimizer):
    model.train()
    for inputs, targets in loader:
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()


def _loop_without_train_mode(model, loader, loss_fn, optimizer):
    for inputs, targets in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()


LOOPS = [_loop_without_zero_grad, _loop_step_before_backward, _loop_zero_grad_after_backward,
         _loop_without_train_mode]
