Extension: MedComHospitalNotificationLeavePeriodExtension
Id: medcom-hospitalnotifiation-leave-period-extension
Title: "MedComHospitalNotificationLeavePeriodExtension"
Description: "Includes timestamps for start and end of leave of a hospitalization."
* valuePeriod MS
* valuePeriod.start 1.. MS
* valuePeriod.start ^short = "Describes the beginning of a period of leave."
* valuePeriod.end MS
* valuePeriod.end ^short = "Describes the end of a period of leave."
