"""ConversionService and InstructionService: thin translations between protobuf and commands."""

from __future__ import annotations

import hashlib
import time

from coalition.exchange.v1 import conversions_pb2, instructions_pb2
from exchange.api.batch_items import item_error
from exchange.api.dispatch import HubContext, Invocation, SignedMethods
from exchange.api.money_translate import (
    CONVERSION_STATE_FROM_PROTO,
    conversion_message,
    instruction_message,
    quote_message,
)
from exchange.api.translate import optional_ms
from exchange.domain.errors import ExchangeError, InvalidArgument
from exchange.secrets.pairwise import member_tag
from exchange.service import conversion_batch, conversions, idempotency, instructions, outcomes, status_match
from exchange.service.authentication import Caller
from exchange.service.idempotency import KeyedItem
from exchange.service.pipeline import PARTNERS, READ_COMMITTED, command
from exchange.service.stored_answers import Answer, answer_of

CONVERSION_SERVICE = conversions_pb2.DESCRIPTOR.services_by_name["ConversionService"].full_name
INSTRUCTION_SERVICE = instructions_pb2.DESCRIPTOR.services_by_name["InstructionService"].full_name
CONVERT_ITEM_METHOD = f"/{CONVERSION_SERVICE}/ConvertBatch#item"
MAX_BATCH_ITEMS = 500
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
    target_member_ref = _target_member_ref(
        call, request.quote_id, request.target_member_ref, request.pairwise_member_id
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


def _target_member_ref(call: Invocation, quote_id: str, target_member_ref: str, pairwise_member_id: str) -> str:
    """The member at the target: as given, or the account linked to the caller's pairwise id."""
    if not pairwise_member_id:
        return target_member_ref
    if target_member_ref:
        raise InvalidArgument(
            "TWO_TARGET_MEMBERS", "set target_member_ref or pairwise_member_id, not both", field="pairwise_member_id"
        )
    return conversions.linked_target_ref(call.connection, call.caller, quote_id, pairwise_member_id)


@command(conversions_pb2.ConvertBatchRequest, callers=PARTNERS, isolation=READ_COMMITTED)
def _convert_batch(
    call: Invocation, request: conversions_pb2.ConvertBatchRequest
) -> conversions_pb2.ConvertBatchResponse:
    """Every item exactly once by its own key, failing alone, converted together (exchange.service.conversion_batch).

    The items' keys are claimed in one statement; an item whose key was used before gets its
    first answer again, and the others are converted together, under one hold of the source's
    row lock and one commit (one fsync, one wait for the synchronous standby). A refused item
    writes nothing and gives its key back, as a refused Convert does.
    """
    if not 1 <= len(request.items) <= MAX_BATCH_ITEMS:
        raise InvalidArgument("INVALID_ITEM_COUNT", f"send 1 to {MAX_BATCH_ITEMS} items", field="items")
    keyed = [
        KeyedItem(
            item.idempotency_key,
            CONVERT_ITEM_METHOD,
            hashlib.sha256(item.SerializeToString(deterministic=True)).hexdigest(),
        )
        for item in request.items
    ]
    if len({item.key for item in keyed}) != len(keyed):
        raise InvalidArgument(
            "DUPLICATE_IDEMPOTENCY_KEY", "each item needs an idempotency key of its own", field="items"
        )
    partner_id = call.caller.principal
    earlier = idempotency.claim_items(call.connection, partner_id=partner_id, items=keyed, now_ms=call.now_ms)
    fresh = [index for index, outcome in enumerate(earlier) if outcome is None]
    made = conversion_batch.convert_all(
        call.connection,
        call.caller,
        [_order(request.items[index]) for index in fresh],
        now_ms=call.now_ms,
        policy=call.hub.policy,
    )
    results: dict[int, conversions_pb2.ConversionResult] = {}
    settled: list[tuple[KeyedItem, Answer | ExchangeError]] = []
    for index, outcome in zip(fresh, made, strict=True):
        if isinstance(outcome, ExchangeError):
            results[index] = conversions_pb2.ConversionResult(error=item_error(outcome))
            settled.append((keyed[index], outcome))
        else:
            results[index] = conversions_pb2.ConversionResult(
                conversion=conversion_message(outcome, call.caller.principal)
            )
            settled.append((keyed[index], _item_answer(call, results[index], outcome.source_member_ref)))
    idempotency.settle_items(call.connection, partner_id=partner_id, outcomes=settled)
    for index, before in enumerate(earlier):
        if isinstance(before, Answer):
            results[index] = conversions_pb2.ConversionResult.FromString(before.body)
        elif before is not None:
            results[index] = conversions_pb2.ConversionResult(error=item_error(before))
    return conversions_pb2.ConvertBatchResponse(results=[results[index] for index in range(len(keyed))])


def _order(item: conversions_pb2.ConversionItem) -> conversion_batch.ConversionOrder:
    return conversion_batch.ConversionOrder(
        source_member_ref=item.source_member_ref,
        target_member_ref=item.target_member_ref,
        pairwise_member_id=item.pairwise_member_id,
        quote_id=item.quote_id,
        target_partner_id=item.target_partner_id,
        source_points=item.source_points,
    )


def _item_answer(call: Invocation, result: conversions_pb2.ConversionResult, member_ref: str) -> Answer:
    """What is kept of an item's answer under its key: kept with the member's tag, so an erasure empties it."""
    secret = call.hub.keyring.pairwise_secret if call.hub.keyring is not None else None
    return answer_of(
        result.SerializeToString(),
        keeps_member_data=secret is not None,
        member_refs={member_ref},
        tag=lambda ref: member_tag(secret or b"", partner_id=call.caller.principal, member_ref=ref),
    )


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
    "ConvertBatch": _convert_batch,
    "GetConversion": _get,
    "ListConversions": _list,
    "ReverseConversion": _reverse,
}

INSTRUCTION_METHODS: SignedMethods = {
    "PullInstructions": _pull,
    "AcknowledgeInstruction": _acknowledge,
    "RejectInstruction": _reject,
}
