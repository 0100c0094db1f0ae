"""Which queue each task goes to (settings CELERY_TASK_ROUTES), as the deployment notes in the
README ("Past one machine") rely on: sends never wait behind a big import."""

import pytest

from campaigns import tasks as campaign_tasks
from config.celery import app
from contacts import tasks as contact_tasks


def _queue(task) -> str:
    return app.amqp.router.route({}, task.name)["queue"].name


@pytest.mark.parametrize(
    "task",
    [
        campaign_tasks.campaign_dispatch,
        campaign_tasks.part_submit,
        campaign_tasks.engine_poll,
        campaign_tasks.engine_sweep,
        campaign_tasks.send_plan_compute,
        campaign_tasks.schedule_run,
        campaign_tasks.delivery_reports_apply,
    ],
)
def test_everything_that_sends_goes_to_the_engine_queue(task):
    assert _queue(task) == "engine"


@pytest.mark.parametrize(
    "task",
    [
        contact_tasks.contact_import_analyse_task,
        contact_tasks.contact_import_apply_task,
        contact_tasks.contact_list_push_task,
        contact_tasks.contacts_search_catch_up_task,
    ],
)
def test_bulk_contact_work_goes_to_its_own_queue(task):
    assert _queue(task) == "bulk"


def test_emails_go_to_the_default_queue_and_a_plain_worker_consumes_all_three():
    assert _queue(campaign_tasks.handoff_mail_send) == "celery"
    assert {queue.name for queue in app.conf.task_queues} == {"engine", "bulk", "celery"}
