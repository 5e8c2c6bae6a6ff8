"""ConversionService and InstructionService: thin translations between protobuf and commands."""

from __future__ import annotations

import time

from coalition.exchange.v1 import conversions_pb2, instructions_pb2
from exchange.api.dispatch import HubContext, Invocation, SignedMethods
from exchange.api.money_translate import (
    CONVERSION_STATE_FROM_PROTO,
    conversion_message,
    instruction_message,
    quote_message,
)
from exchange.api.translate import optional_ms
from exchange.domain.errors import InvalidArgument
from exchange.service import conversions, instructions, outcomes, status_match
from exchange.service.authentication import Caller
from exchange.service.pipeline import PARTNERS, READ_COMMITTED, command

CONVERSION_SERVICE = conversions_pb2.DESCRIPTOR.services_by_name["ConversionService"].full_name
INSTRUCTION_SERVICE = instructions_pb2.DESCRIPTOR.services_by_name["InstructionService"].full_name
LONG_POLL_INTERVAL_S = 0.2
DEADLINE_MARGIN_S = 1.0


@command(conversions_pb2.QuoteConversionRequest, callers=PARTNERS, isolation=READ_COMMITTED, groupable=True)
def _quote(
    call: Invocation, request: conversions_pb2.QuoteConversionRequest
) -> conversions_pb2.QuoteConversionResponse:
    offer = conversions.quote(
        call.work,
        call.caller,
        request.target_partner_id,
        request.source_points,
        call.now_ms,
        call.hub.policy,
    )
    return conversions_pb2.QuoteConversionResponse(quote=quote_message(offer))


@command(
    conversions_pb2.ConvertRequest,
    callers=PARTNERS,
    idempotency_key=lambda r: r.idempotency_key,
    isolation=READ_COMMITTED,
    groupable=True,
)
def _convert(call: Invocation, request: conversions_pb2.ConvertRequest) -> conversions_pb2.ConvertResponse:
    target_member_ref = request.target_member_ref
    if request.pairwise_member_id:
        if target_member_ref:
            raise InvalidArgument(
                "TWO_TARGET_MEMBERS",
                "set target_member_ref or pairwise_member_id, not both",
                field="pairwise_member_id",
            )
        target_member_ref = conversions.linked_target_ref(
            call.connection, call.caller, request.quote_id, request.pairwise_member_id
        )
    conversion = conversions.convert(
        call.work,
        call.caller,
        quote_id=request.quote_id,
        source_member_ref=request.source_member_ref,
        target_member_ref=target_member_ref,
        now_ms=call.now_ms,
        policy=call.hub.policy,
    )
    return conversions_pb2.ConvertResponse(conversion=conversion_message(conversion, call.caller.principal))


@command(conversions_pb2.GetConversionRequest, callers=PARTNERS)
def _get(call: Invocation, request: conversions_pb2.GetConversionRequest) -> conversions_pb2.GetConversionResponse:
    conversion = conversions.get(call.work, call.caller, request.conversion_id)
    return conversions_pb2.GetConversionResponse(conversion=conversion_message(conversion, call.caller.principal))


@command(conversions_pb2.ListConversionsRequest, callers=PARTNERS)
def _list(call: Invocation, request: conversions_pb2.ListConversionsRequest) -> conversions_pb2.ListConversionsResponse:
    state = None
    if request.state:
        if request.state not in CONVERSION_STATE_FROM_PROTO:
            raise InvalidArgument("INVALID_STATE", "state is not a known ConversionState", field="state")
        state = CONVERSION_STATE_FROM_PROTO[request.state]
    page = conversions.list_page(
        call.connection,
        call.caller,
        state=state,
        member_ref=request.member_ref,
        created_from_ms=optional_ms(request.created_from, request.HasField("created_from"), "created_from"),
        created_before_ms=optional_ms(request.created_before, request.HasField("created_before"), "created_before"),
        page_size=request.page_size,
        page_token=request.page_token,
    )
    return conversions_pb2.ListConversionsResponse(
        conversions=[conversion_message(c, call.caller.principal) for c in page.conversions],
        next_page_token=page.next_page_token,
    )


@command(conversions_pb2.ReverseConversionRequest, callers=PARTNERS, idempotency_key=lambda r: r.idempotency_key)
def _reverse(
    call: Invocation, request: conversions_pb2.ReverseConversionRequest
) -> conversions_pb2.ReverseConversionResponse:
    conversion = conversions.reverse(
        call.work,
        call.caller,
        conversion_id=request.conversion_id,
        target_points=request.target_points,
        reason=request.reason,
        now_ms=call.now_ms,
    )
    return conversions_pb2.ReverseConversionResponse(conversion=conversion_message(conversion, call.caller.principal))


def _wait_for_instructions(
    hub: HubContext, caller: Caller, request: instructions_pb2.PullInstructionsRequest, remaining_s: float
) -> None:
    """Long poll: wait, outside any transaction, until the caller has work, the wait ends or the hub stops.

    The wait ends early enough to answer inside the caller's own deadline.
    """
    _, wait_whole_s, _ = instructions.pull_limits(request.max_instructions, request.wait_seconds, request.lease_seconds)
    wait_s = float(wait_whole_s)
    if remaining_s:
        wait_s = min(wait_s, max(0.0, remaining_s - DEADLINE_MARGIN_S))
    deadline = time.monotonic() + wait_s
    while True:
        if hub.database.run(lambda c: instructions.has_pending(c, caller.principal, hub.clock.now_ms())):
            return
        if time.monotonic() >= deadline or hub.stopping.wait(LONG_POLL_INTERVAL_S):
            return


@command(instructions_pb2.PullInstructionsRequest, callers=PARTNERS, wait=_wait_for_instructions)
def _pull(
    call: Invocation, request: instructions_pb2.PullInstructionsRequest
) -> instructions_pb2.PullInstructionsResponse:
    limit, _, lease_s = instructions.pull_limits(request.max_instructions, request.wait_seconds, request.lease_seconds)
    leased = instructions.lease(call.connection, call.caller, limit=limit, lease_s=lease_s, now_ms=call.now_ms)
    return instructions_pb2.PullInstructionsResponse(
        instructions=[
            instruction_message(i, status_match.match_notice(call.work, i) if i.match_id else None) for i in leased
        ]
    )


@command(instructions_pb2.AcknowledgeInstructionRequest, callers=PARTNERS)
def _acknowledge(
    call: Invocation, request: instructions_pb2.AcknowledgeInstructionRequest
) -> instructions_pb2.AcknowledgeInstructionResponse:
    instruction = outcomes.acknowledge(
        call.work, call.caller, request.instruction_id, request.partner_reference, call.now_ms
    )
    return instructions_pb2.AcknowledgeInstructionResponse(instruction=instruction_message(instruction))


@command(instructions_pb2.RejectInstructionRequest, callers=PARTNERS)
def _reject(
    call: Invocation, request: instructions_pb2.RejectInstructionRequest
) -> instructions_pb2.RejectInstructionResponse:
    instruction = outcomes.reject(call.work, call.caller, request.instruction_id, request.reason, call.now_ms)
    return instructions_pb2.RejectInstructionResponse(instruction=instruction_message(instruction))


CONVERSION_METHODS: SignedMethods = {
    "QuoteConversion": _quote,
    "Convert": _convert,
    "GetConversion": _get,
    "ListConversions": _list,
    "ReverseConversion": _reverse,
}

INSTRUCTION_METHODS: SignedMethods = {
    "PullInstructions": _pull,
    "AcknowledgeInstruction": _acknowledge,
    "RejectInstruction": _reject,
}
