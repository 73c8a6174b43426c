# Existing imports count as changed when this runs: an unconfirmed one has a week from then.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('credits', '0008_ledger_read_in_recorded_order'),
    ]

    operations = [
        migrations.AddField(
            model_name='creditimport',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
    ]
