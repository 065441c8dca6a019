Extension: MedComHospitalNotificationReportOfAdmissionExtension
Id: medcom-messaging-reportOfAdmissionExtension
Title: "MedComReportOfAdmissionExtension"
Description: "Indicates whether the recipient should send a report of admission"
* value[x] 1..1
* value[x] only boolean
